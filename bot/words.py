"""Word lists shared by keyword search and the vocabulary checks."""

# Words that carry no topic: question words, pronouns, auxiliaries, fillers. Words that can
# carry the answer ("own" cells, "under" 50, "after" five years, "not", "most") are kept out.
FUNCTION_WORDS = frozenset(
    """a about all also am an and any are as at be because been being both but by can could did
    do does doing done each for from get gets getting give go going got had has have having
    he her here hers him his how i if in into is it its itself just know let like lot lots
    make makes may me might much must my now of on or other our out please really say she
    should so some still such tell than thank thanks that the their them then there these
    they thing things this those to up us want was way we well were what whats when where
    which while who whom why will with would yes you your""".split()
)
