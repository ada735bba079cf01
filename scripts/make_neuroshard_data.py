#!/usr/bin/env python3
"""make_neuroshard_data.py: writes the NeuroShard topic data sets (issue #6) under
datasets/neuroshard/. Run once; its output is committed, so nobody needs to run it again:

    python3 scripts/make_neuroshard_data.py

The texts are short phrases written for this project: hand-written topic word lists and
phrase templates below, filled in by a fixed-seed random.Random, duplicates dropped. Four
topics: rap, love (soft/love), math, animals (English and German animal words: hund,
katze, vogel, baer as b\u00e4r, pferd, maus, ...). Common filler words (the, night, my, we,
...) are shared by all topics so that a text is not trivially one word list.

Files (TSV "topic<TAB>text", UTF-8, grouped by topic):
    v2_train.tsv / v2_test.tsv   60 / 15 texts per topic (the test split is a fixed 20%)
    v3_train.tsv / v3_test.tsv   300 / 75 texts per topic (more data, same model)
The v2 and v3 sets are drawn independently (different seeds)."""
import os
import random

WORDS = {
    "rap": {
        "noun": ["beat", "mic", "rhyme", "verse", "street", "hood", "block", "crew", "gang", "punchline", "bars",
                 "flow", "hustle", "cypher", "bassline", "hook", "track", "studio", "mixtape", "battle", "corner",
                 "chain", "sneakers", "graffiti", "turntable", "record", "stage", "crowd"],
        "verb": ["spit", "drop", "rap", "hustle", "freestyle", "battle", "rock", "grind", "flex", "bounce"],
        "adj": ["hard", "raw", "fresh", "dope", "loud", "gritty", "underground", "heavy", "fast", "real"],
    },
    "love": {
        "noun": ["love", "heart", "kiss", "darling", "romance", "hug", "peace", "soul", "embrace", "sweetheart",
                 "tenderness", "smile", "rose", "moonlight", "promise", "dream", "honey", "warmth", "devotion",
                 "lover", "wedding", "letter", "candle", "sunset", "everyone", "kindness"],
        "verb": ["love", "hold", "cherish", "adore", "kiss", "embrace", "miss", "comfort", "care", "hug"],
        "adj": ["pure", "soft", "tender", "sweet", "gentle", "warm", "dear", "kind", "beloved", "quiet"],
    },
    "math": {
        "noun": ["integral", "theorem", "equation", "proof", "algebra", "number", "derivative", "matrix", "prime",
                 "calculus", "vector", "function", "limit", "lemma", "series", "polynomial", "fraction", "geometry",
                 "triangle", "angle", "variable", "sum", "product", "logarithm", "eigenvalue", "math"],
        "verb": ["prove", "solve", "compute", "derive", "integrate", "factor", "simplify", "count", "divide",
                 "multiply"],
        "adj": ["advanced", "linear", "complex", "rational", "finite", "infinite", "exact", "square", "odd",
                "even"],
    },
    "animals": {
        "noun": ["dog", "cat", "bird", "horse", "mouse", "bear", "fox", "wolf", "rabbit", "owl", "deer", "duck",
                 "hund", "katze", "vogel", "b\u00e4r", "pferd", "maus", "fuchs", "wolf", "hase", "eule", "kuh",
                 "schwein", "ente", "l\u00f6we", "tiger", "elefant", "animal"],
        "verb": ["bark", "purr", "fly", "gallop", "squeak", "sleep", "hunt", "run", "graze", "nest"],
        "adj": ["furry", "wild", "small", "big", "hungry", "sleepy", "brown", "fluffy", "quick", "shy"],
    },
}

FILLER = ["the", "a", "my", "our", "in", "at", "with", "and", "all", "night", "day", "again", "today", "we",
          "you", "so", "very", "on", "over", "this"]

TEMPLATES = [
    "{adj} {noun} {noun}",
    "{noun} {noun} {noun} {noun}",
    "{f} {adj} {noun} {verb}",
    "{verb} {f} {noun} {f} {noun}",
    "{adj} {noun} {verb} {f} {f}",
    "{f} {noun} and {f} {noun}",
    "{noun} {verb} {adj} {noun}",
    "{adj} {adj} {noun} {noun} {f}",
    "{f} {f} {verb} {noun}",
    "{noun} {f} {adj} {noun} {verb}",
]

# German phrase templates used for part of the animal texts.
GERMAN = ["der {a} schl\u00e4ft", "die {a} und der {b}", "ein {a} im wald", "{a} {b} {c}", "mein {a} l\u00e4uft schnell",
          "der kleine {a} frisst", "{a} und {b} spielen"]
GERMAN_ANIMALS = ["hund", "katze", "vogel", "b\u00e4r", "pferd", "maus", "fuchs", "hase", "eule", "kuh", "ente",
                  "l\u00f6we", "schwein"]


def phrase(rng, topic):
    if topic == "animals" and rng.random() < 0.3:
        a, b, c = rng.sample(GERMAN_ANIMALS, 3)
        return rng.choice(GERMAN).format(a=a, b=b, c=c)
    w = WORDS[topic]
    out = []
    for tok in rng.choice(TEMPLATES).split():
        if tok == "{f}":
            out.append(rng.choice(FILLER))
        elif tok.startswith("{"):
            out.append(rng.choice(w[tok[1:-1]]))
        else:
            out.append(tok)
    return " ".join(out)


def make(seed, per_topic):
    rng = random.Random(seed)
    sets = {}
    for topic in WORDS:
        seen, texts = set(), []
        while len(texts) < per_topic:
            t = phrase(rng, topic)
            if t not in seen:
                seen.add(t)
                texts.append(t)
        sets[topic] = texts
    return sets


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for topic, text in rows:
            f.write(f"{topic}\t{text}\n")


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets", "neuroshard")
    os.makedirs(root, exist_ok=True)
    for name, seed, per_topic in [("v2", 2, 75), ("v3", 3, 375)]:
        sets = make(seed, per_topic)
        n_test = per_topic // 5  # the fixed 20% held out: the last fifth of each topic's texts
        train = [(t, x) for t, xs in sets.items() for x in xs[: per_topic - n_test]]
        test = [(t, x) for t, xs in sets.items() for x in xs[per_topic - n_test:]]
        write(os.path.join(root, f"{name}_train.tsv"), train)
        write(os.path.join(root, f"{name}_test.tsv"), test)
        print(f"{name}: {len(train)} train, {len(test)} test texts")


if __name__ == "__main__":
    main()
