"""Word and sentence banks for the SYNTHETIC demo corpus (see scripts/make_demo_corpus.py).

Everything a monologue can say lives here, grouped by what it expresses, so the
planted lexical effects are easy to read and to change:

- ``neutral`` clauses tell what happened (per question topic);
- ``positive`` / ``negative`` / ``anxious`` / ``health`` clauses carry the LIWC-style
  categories the literature ties to stress and emotion (posemo; negemo, sad,
  anger; anx; health, body, bio);
- ``lively`` clauses (events, people, money, achievement) go with high
  activation and ``calm`` clauses with low activation (MUSER paper, 3.2:
  "activation is more connected to entities and events");
- non-fluencies ("um", "er") and hedges are inserted afterwards.

Which kind each sentence gets, and how many fillers, is decided by
:func:`sentence` from the monologue's stress, activation and valence; the
weights are in ``make_demo_corpus.py``. Slots in braces are filled from
``SLOTS``. All text is scripted: no real person said any of it.
"""

from __future__ import annotations

import numpy as np

# The five emotion-eliciting prompts of every session (MuSE shows five questions
# on screen and the speaker answers each with a monologue). Valence/activation
# shifts per question are in make_demo_corpus.py.
QUESTIONS = {
    "Q1": "How has your week been so far?",
    "Q2": "Tell us about a happy memory from when you were younger.",
    "Q3": "What has been on your mind or bothering you lately?",
    "Q4": "What are your plans for the next few weeks?",
    "Q5": "Tell us about a person who is important to you.",
}

# Slot words shared by all clause banks.
SLOTS = {
    "person": ["my mom", "my dad", "my sister", "my brother", "my roommate", "my best friend",
               "my grandmother", "my grandfather", "my cousin", "my girlfriend", "my boyfriend",
               "my advisor", "my lab partner", "my aunt", "my neighbor", "my coach"],
    "people": ["my friends", "my family", "some classmates", "my teammates", "my cousins",
               "a few people from my dorm", "the people in my lab", "my parents"],
    "place": ["the library", "the gym", "my parents' house", "the dining hall", "the park",
              "a coffee shop downtown", "the mall", "campus", "the movie theater", "the lab"],
    "destination": ["the beach", "the lake", "my grandparents' farm", "the mountains", "Chicago",
                    "the coast", "a national park", "my aunt's house", "New York", "the zoo"],
    "thing": ["my exams", "my grades", "the final project", "my thesis", "the deadline",
              "my chemistry final", "the presentation", "my internship application",
              "my scholarship", "the lab report", "paying rent", "my job interview",
              "the statistics exam", "finding a job"],
    "activity": ["play basketball", "cook dinner", "go hiking", "watch a movie", "play the guitar",
                 "go for a run", "bake cookies", "play video games", "go swimming",
                 "draw", "ride my bike", "visit the museum"],
    "time": ["on Monday", "yesterday", "last weekend", "this morning", "on Tuesday night",
             "a couple of days ago", "last night", "on Sunday"],
    "age": ["seven", "eight", "ten", "twelve", "fifteen", "about nine", "sixteen"],
    "subject": ["math", "chemistry", "history", "biology", "economics", "computer science",
                "physics", "psychology"],
}

# What happened: plain narrative clauses, one bank per question topic.
NEUTRAL = {
    "Q1": ["{time} I had two classes and a lab",
           "I spent most of {time} in {place}",
           "I went to {place} with {people} {time}",
           "we had a group meeting for {subject}",
           "I took the bus downtown {time}",
           "I finished the reading for {subject}",
           "I did some laundry and cleaned my room",
           "I talked to {person} on the phone {time}",
           "the week started with a quiz in {subject}",
           "I walked across campus to the office hours"],
    "Q2": ["when I was {age} we used to go to {destination}",
           "{person} took me to {destination} every summer",
           "we lived in a small town near the river",
           "I remember the house we had when I was {age}",
           "we drove for hours to get to {destination}",
           "{person} taught me how to {activity}",
           "we would {activity} after school",
           "my family moved to a new city when I was {age}",
           "there was a big tree in our backyard",
           "I had a dog named Max back then"],
    "Q3": ["I have a lot going on with {thing}",
           "I have been thinking about {thing}",
           "most of my time goes into {thing}",
           "I have to finish {thing} by the end of the month",
           "{person} keeps asking me about {thing}",
           "I spent the weekend working on {thing}",
           "there are three things due next week",
           "I have been going over {thing} again and again",
           "I checked my email about {thing} this morning",
           "{thing} is taking up most of my week"],
    "Q4": ["next week I have to finish {thing}",
           "I am going home to see {people} after the semester",
           "I plan to {activity} more often",
           "I will start my summer job in June",
           "I want to visit {destination} with {people}",
           "I am moving to a new apartment next month",
           "I need to sign up for classes for next year",
           "I have {thing} coming up and then a break",
           "we are planning a trip to {destination}",
           "I am going to take a class in {subject}"],
    "Q5": ["{person} is someone I talk to almost every day",
           "{person} lives about two hours away from here",
           "I have known {person} since I was {age}",
           "{person} works as a nurse at the hospital",
           "we used to {activity} together on weekends",
           "{person} taught me a lot about {subject}",
           "{person} calls me every Sunday",
           "we grew up in the same neighborhood",
           "{person} moved to another state last year",
           "we met in a {subject} class"],
}

# Positive emotion (posemo): happy, love, great, fun, proud, relaxed ...
POSITIVE = ["I was really happy to see {person}",
            "it was a lot of fun",
            "I love to {activity} with {people}",
            "I felt proud of myself for once",
            "it was a great day and everyone was laughing",
            "I felt relaxed and calm for the first time in a while",
            "{person} is so kind and funny",
            "we laughed so much that night",
            "I am excited about the summer",
            "I felt good about how things went",
            "it made me smile the whole day",
            "I am grateful to have {person} in my life",
            "I enjoyed every minute of it",
            "it was a nice surprise",
            "I felt loved and safe"]

# Negative emotion, sadness and anger (negemo, sad, anger).
NEGATIVE = ["I was really upset about it",
            "it made me sad for a long time",
            "I got angry and yelled at {person}",
            "I felt lonely and kind of lost",
            "it was a terrible week honestly",
            "I hate how unfair it all is",
            "I cried a little after the call",
            "I was so annoyed with myself",
            "everything just felt wrong",
            "I was disappointed with how it went",
            "it hurt to hear that from {person}",
            "I felt awful about the whole thing"]

# Anxiety (anx): worried, nervous, afraid, scared, pressure, panic.
ANXIOUS = ["I keep worrying about {thing}",
           "I am nervous about {thing}",
           "I am scared that I will fail {thing}",
           "I feel a lot of pressure about {thing}",
           "I panic a little every time I think about {thing}",
           "I am afraid I will not be ready for {thing}",
           "I feel tense and uneasy all the time",
           "I am anxious about what happens after {thing}",
           "I worry that I am falling behind",
           "I feel overwhelmed by {thing}"]

# Health, body and biological processes (health, body, bio).
HEALTH = ["I have not been sleeping well",
          "I get headaches almost every evening",
          "my stomach hurts when I skip breakfast",
          "I feel tired all the time",
          "my heart races when I sit down to study",
          "my back and neck are sore from sitting",
          "I caught a cold and I am still sick",
          "I have been drinking way too much coffee",
          "my hands get shaky before a test",
          "I forgot to eat lunch again",
          "I could barely keep my eyes open",
          "my chest feels tight sometimes"]

# High activation: events, people, money, achievement (social, family, money, achieve).
LIVELY = ["we went out with {people} and talked for hours",
          "I won a prize at a competition",
          "{person} threw a big party for everyone",
          "I got paid for my first job",
          "we played a match against another team and won",
          "I ran into {person} at {place}",
          "we spent a lot of money on tickets",
          "{people} came over and we cooked together",
          "I earned a scholarship for next year",
          "I finally finished a huge project"]

# Low activation: quiet, still, slow.
CALM = ["I mostly stayed in my room",
        "it was a quiet day",
        "I just sat and read for a while",
        "nothing much happened really",
        "I took a long nap in the afternoon",
        "I sat outside and watched the clouds",
        "I slowly cleaned up my desk",
        "it was a slow and sleepy week"]

KINDS = {"neutral": NEUTRAL, "positive": POSITIVE, "negative": NEGATIVE, "anxious": ANXIOUS,
         "health": HEALTH, "lively": LIVELY, "calm": CALM}

# Sentence openers and how two clauses join.
OPENERS = ["", "", "", "", "So ", "Well, ", "And ", "I think ", "Honestly, ", "Actually, ",
           "I mean, ", "Also, "]
JOINERS = [", and ", ", and ", ", but ", " and then "]

# Non-fluencies (LIWC nonflu/filler). "mm" and "ehm" are left out: espeak-ng
# spells them out instead of humming.
NONFLUENCIES = ["um", "uh", "er", "hmm", "erm", "umm"]
FILLERS = ["you know", "like", "I mean"]
HEDGES = ["maybe", "I guess", "probably", "kind of", "sort of"]


def fill(template: str, rng: np.random.Generator) -> str:
    """Fill every ``{slot}`` of a clause with a random word from :data:`SLOTS`."""
    out = template
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        words = SLOTS[out[start + 1:end]]
        out = out[:start] + words[rng.integers(len(words))] + out[end + 1:]
    return out


def clause(kind: str, question: str, rng: np.random.Generator) -> str:
    """One clause of the given kind (neutral clauses follow the question's topic)."""
    bank = KINDS[kind]
    if isinstance(bank, dict):
        bank = bank[question]
    return fill(bank[rng.integers(len(bank))], rng)


def insert_disfluencies(words: list[str], n_nonflu: int, n_filler: int, n_hedge: int,
                        rng: np.random.Generator) -> list[str]:
    """Put non-fluencies, fillers and hedges between words; a comma marks each pause."""
    words = list(words)
    for bank, n in ((NONFLUENCIES, n_nonflu), (FILLERS, n_filler), (HEDGES, n_hedge)):
        for _ in range(n):
            pos = int(rng.integers(0, len(words)))  # before a word: never trailing
            token = bank[rng.integers(len(bank))]
            # Non-fluencies are set off by commas so espeak-ng pauses around them.
            words.insert(pos, f"{token}," if bank is NONFLUENCIES else token)
    return words


def sentence(kinds: list[str], question: str, n_nonflu: int, n_filler: int, n_hedge: int,
             rng: np.random.Generator) -> str:
    """A sentence of one or two clauses of the given kinds, with disfluencies inserted."""
    parts = [clause(k, question, rng) for k in kinds]
    text = OPENERS[rng.integers(len(OPENERS))] + parts[0]
    for part in parts[1:]:
        text += JOINERS[rng.integers(len(JOINERS))] + part
    words = insert_disfluencies(text.split(), n_nonflu, n_filler, n_hedge, rng)
    text = " ".join(words).rstrip(",")
    return text[0].upper() + text[1:] + "."


# --------------------------------------------------------------------------- external set

# OMG-Emotion-like clips: short vlog-style utterances on other topics.
EXTERNAL_TOPICS = {
    "movies": ["this movie", "the new trailer", "the ending", "the main character", "the sequel",
               "the soundtrack"],
    "cooking": ["this recipe", "the sauce", "the cake", "this restaurant", "the pasta",
                "the new kitchen"],
    "games": ["this game", "the last level", "the update", "the boss fight", "the new map",
              "the controller"],
    "travel": ["the hotel", "the flight", "this city", "the old town", "the train ride",
               "the museum tour"],
    "tech": ["this phone", "the new laptop", "the camera", "the battery", "the app",
             "the headphones"],
    "sports": ["the match", "the referee", "our team", "the final score", "the coach",
               "the season"],
}
EXTERNAL_POSITIVE = ["honestly I love {item}", "{item} is absolutely amazing",
                     "I was so happy with {item}", "{item} made my day",
                     "{item} is beautiful and so much fun", "I really enjoyed {item}",
                     "{item} is the best thing I have seen this year",
                     "I am thrilled about {item}"]
EXTERNAL_NEGATIVE = ["I really hate {item}", "{item} was a complete disaster",
                     "{item} made me so angry", "I was disappointed by {item}",
                     "{item} is boring and ugly", "{item} is awful and a waste of money",
                     "I felt sad and frustrated with {item}", "{item} is the worst"]
EXTERNAL_NEUTRAL = ["so today we are talking about {item}", "let me show you {item}",
                    "this is my first look at {item}", "I got {item} last week",
                    "we are going to compare {item} with the old one",
                    "here is what I think about {item}", "I have been using {item} for a month",
                    "a lot of you asked me about {item}"]
EXTERNAL_INTENSE = ["oh my god", "wow", "seriously", "no way", "come on", "oh man"]
EXTERNAL_KINDS = {"positive": EXTERNAL_POSITIVE, "negative": EXTERNAL_NEGATIVE,
                  "neutral": EXTERNAL_NEUTRAL}


def external_sentence(kind: str, topic: str, n_intense: int, rng: np.random.Generator) -> str:
    """One vlog-style utterance: a clause about a topic item, plus exclamations for high arousal."""
    items = EXTERNAL_TOPICS[topic]
    bank = EXTERNAL_KINDS[kind]
    text = bank[rng.integers(len(bank))].replace("{item}", items[rng.integers(len(items))])
    if rng.random() < 0.6:  # most clips have a second, neutral clause: at least five words
        second = EXTERNAL_NEUTRAL[rng.integers(len(EXTERNAL_NEUTRAL))]
        text += ", and " + second.replace("{item}", items[rng.integers(len(items))])
    for _ in range(n_intense):
        text = EXTERNAL_INTENSE[rng.integers(len(EXTERNAL_INTENSE))] + ", " + text
    return text[0].upper() + text[1:] + ("!" if n_intense else ".")
