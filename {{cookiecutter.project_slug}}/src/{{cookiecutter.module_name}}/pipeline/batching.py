"""Dynamic padding: a batch of token ids is only as wide as its longest text.

Texts are tokenized once per split, padded to the split's longest text (tasks/text.py); each batch is then trimmed
here, in the training DataLoader and in `evaluation.predict_proba`, so short texts do not pay for the longest one.
Trimming is exact up to float rounding: padded positions are masked out of attention, and padding is on the right,
so the real tokens keep their positions.
"""


def trim_padding(inputs: tuple) -> tuple:
    """(input_ids, attention_mask): drop trailing columns that are padding in every row. Any other inputs (one tabular
    array) are returned as they are."""
    if len(inputs) != 2 or inputs[1].ndim != 2 or inputs[1].shape[1] == 0:
        return tuple(inputs)
    ids, mask = inputs
    used = mask.any(0).nonzero()
    width = int(used[-1]) + 1 if len(used) else 1
    return ids[:, :width], mask[:, :width]


def trim_batch(batch: tuple) -> list:
    """DataLoader collate for a batch indexed at once, (*inputs, labels): trim the (input_ids, attention_mask)
    padding of this batch."""
    *inputs, labels = batch
    return [*trim_padding(tuple(inputs)), labels]
