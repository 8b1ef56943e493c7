import pytest

from bot.conversation import smalltalk_reply


@pytest.mark.parametrize(
    "message",
    [
        "hi",
        "Hello!",
        "good morning",
        "thanks so much",
        "Thank you!!",
        "bye",
        "who are you?",
        "what can you do",
        "hi there, what can you do?",
        "thanks, bye",
        "cheers",
    ],
)
def test_small_talk_is_recognised(message: str) -> None:
    assert smalltalk_reply(message)


@pytest.mark.parametrize(
    "message",
    [
        "hi, is the treatment safe?",
        "Is stem cell therapy experimental?",
        "what is ms",
        "thanks, and how long is recovery?",
        "",
    ],
)
def test_questions_are_not_small_talk(message: str) -> None:
    assert smalltalk_reply(message) is None


def test_goodbye_wins_over_thanks() -> None:
    assert smalltalk_reply("thanks, bye") == smalltalk_reply("bye")
