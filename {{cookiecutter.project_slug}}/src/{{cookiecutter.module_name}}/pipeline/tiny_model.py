"""Build a tiny BERT-style model and WordPiece tokenizer from your own texts (seeded, deterministic), saved where
`from_pretrained` reads it.

For running the whole lifecycle offline in seconds (tests, CI, a first try without a hub download):
    python -m {{ cookiecutter.module_name }}.pipeline.tiny_model --data data/{{ cookiecutter.module_name }}.csv --out models/tiny
then set `model.name_or_path: models/tiny` in params.yaml.
"""

import argparse
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build(
    texts: list[str], out: Path, vocab_size: int = 600, hidden_size: int = 32, layers: int = 2, seed: int = 42
) -> Path:
    """Seeded: the same texts give the same tokenizer and the same initial weights, byte for byte."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    torch.manual_seed(seed)
    wordpiece = Tokenizer(models.WordPiece(vocab=_vocabulary(texts, vocab_size), unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = wordpiece.token_to_id("[CLS]"), wordpiece.token_to_id("[SEP]")
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer = BertTokenizerFast(
        tokenizer_object=wordpiece,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=512,
    )
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    BertForSequenceClassification(config).save_pretrained(out)
    return out


def _vocabulary(texts: list[str], size: int) -> dict[str, int]:
    """A WordPiece vocabulary counted, not trained (tokenizers' trainer breaks ties differently run to run): the
    special tokens, every character alone and as a `##` continuation (so no word is unknown), the most frequent words
    (ties by name). The same texts always give the same ids."""
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers

    normalizer, splitter = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    words = Counter(w for text in texts for w, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for word in words for c in word})
    frequent = [w for w, _ in sorted(words.items(), key=lambda item: (-item[1], item[0])) if w not in chars]
    tokens = SPECIAL + chars + [f"##{c}" for c in chars] + frequent[:size]
    return {token: i for i, token in enumerate(tokens)}


def main(argv=None) -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("--data", type=Path, default=Path("data/{{ cookiecutter.module_name }}.csv"))
    parser.add_argument("--text", default="text", help="text column of --data")
    parser.add_argument("--out", type=Path, default=Path("models/tiny"))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    print(build(pd.read_csv(args.data)[args.text].astype(str).tolist(), args.out, seed=args.seed))


if __name__ == "__main__":
    main()
