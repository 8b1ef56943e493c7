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
        "hello there, you're great",  # "you" is stripped inside "you're", "'re" stays
        "thanks'",
        "hithere",
    ],
)
def test_questions_are_not_small_talk(message: str) -> None:
    assert smalltalk_reply(message) is None


def test_goodbye_wins_over_thanks() -> None:
    assert smalltalk_reply("thanks, bye") == smalltalk_reply("bye")


from bot.conversation import is_follow_up, resolve  # noqa: E402
from bot.models import Question, Turn  # noqa: E402


@pytest.mark.parametrize(
    "message",
    [
        "what are the risks of that?",
        "and how long is recovery?",
        "where was it done?",
        "what about the age?",
        "how old were they?",
        "is it a cure?",
        "why?",
    ],
)
def test_messages_that_point_back_are_follow_ups(message: str) -> None:
    assert is_follow_up(message)


@pytest.mark.parametrize(
    "message",
    [
        "What does AHSCT stand for?",
        "what are the symptoms of ms?",
        "how long does the infection risk last after the transplant?",
    ],
)
def test_self_contained_questions_are_not_follow_ups(message: str) -> None:
    assert not is_follow_up(message)


def test_resolve_takes_the_newest_user_turns_and_ignores_the_bot() -> None:
    history = [
        Turn("user", "what is ms"),
        Turn("bot", "MS is an autoimmune disease…"),
        Turn("user", "how is the transplant done"),
        Turn("bot", "High-dose chemotherapy…"),
    ]
    assert resolve("and who is it for?", history) == Question(
        "and who is it for?", ("how is the transplant done", "what is ms")
    )
    assert resolve("What does AHSCT stand for?", history) == Question("What does AHSCT stand for?")
    assert resolve("is it safe?", []) == Question("is it safe?")
