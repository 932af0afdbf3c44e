"""Text inputs, judged through simple statistics of each text: its length in characters and in words, and the share
of its tokens the model's tokenizer does not know (its unknown token, e.g. [UNK]). Their drift is judged like any
numeric input's; the raw texts are not compared."""

import pandas as pd

SUFFIXES = ("chars", "words", "unknown_token_rate")


def statistic_columns(text_columns: list[str]) -> list[str]:
    return [f"{column}_{suffix}" for column in text_columns for suffix in SUFFIXES]


def statistics(texts: pd.Series, tokenizer) -> pd.DataFrame:
    """Per text: characters, words (split on whitespace) and the unknown-token share (0 when the tokenizer has no
    unknown token or the text has no tokens); a missing text has no statistics."""
    present = texts.notna()
    values = texts[present].astype(str).tolist()
    unknown = getattr(tokenizer, "unk_token_id", None)
    ids = tokenizer(values, add_special_tokens=False)["input_ids"] if values else []
    rates = [sum(i == unknown for i in row) / len(row) if row and unknown is not None else 0.0 for row in ids]
    out = pd.DataFrame(index=texts.index, columns=list(SUFFIXES), dtype="float64")
    out.loc[present, "chars"] = [float(len(t)) for t in values]
    out.loc[present, "words"] = [float(len(t.split())) for t in values]
    out.loc[present, "unknown_token_rate"] = rates
    return out


def with_statistics(frame: pd.DataFrame, text_columns: list[str], tokenizer) -> pd.DataFrame:
    """`frame` with `<column>_<statistic>` added for each text column it has."""
    frame = frame.copy()
    for column in [c for c in text_columns if c in frame]:
        stats = statistics(frame[column], tokenizer)
        for suffix in SUFFIXES:
            frame[f"{column}_{suffix}"] = stats[suffix]
    return frame
