"""Build a tiny BERT-style model and WordPiece tokenizer from your own texts, saved where `from_pretrained` reads it.

For running the whole lifecycle offline in seconds (tests, CI, a first try without a hub download):
    python -m {{ cookiecutter.module_name }}.tiny_model --data data/{{ cookiecutter.module_name }}.csv --out models/tiny
then set `model.name_or_path: models/tiny` in params.yaml.
"""

import argparse
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build(texts: list[str], out: Path, vocab_size: int = 600, hidden_size: int = 32, layers: int = 2) -> Path:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL))
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


def main(argv=None) -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/{{ cookiecutter.module_name }}.csv"))
    parser.add_argument("--text", default="text", help="text column of --data")
    parser.add_argument("--out", type=Path, default=Path("models/tiny"))
    args = parser.parse_args(argv)
    print(build(pd.read_csv(args.data)[args.text].astype(str).tolist(), args.out))


if __name__ == "__main__":
    main()
