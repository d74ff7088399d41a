#!/usr/bin/env python3
"""Writes a vocabulary-only GGUF from a SentencePiece Unigram model, as llama.cpp's T5 converter
(conversion/t5.py) would from a T5 checkpoint: tokenizer.ggml.model "t5", the pieces with their
scores and types, add_space_prefix / remove_extra_whitespaces and the precompiled_charsmap bytes
(a UINT8 array) from the model's normalizer_spec, and T5's special ids (pad 0, eos 1, unk 2, no BOS;
add_bos false, add_eos true).

`--extra-ids N` appends T5's N sentinels after the pieces, numbered downwards as T5 does
(<extra_id_0> is the last id), as USER_DEFINED tokens with score -1000: the types and scores
llama.cpp's converter gives tokens of added_tokens.json.

No third-party modules: the model file (a ModelProto) is read with a minimal protobuf decoder.

Usage: sp_model_to_gguf.py --model t5.model [--extra-ids 100] --out vocab.gguf
"""

import argparse
import struct
import sys

# SentencePiece's piece types (sentencepiece_model.proto) are llama.cpp's token types.
TYPE_NORMAL, TYPE_USER_DEFINED = 1, 4


def read_varint(data, pos):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(data):
    """Yields (field number, wire type, value) of one protobuf message."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def read_model(path):
    """The pieces [(text bytes, score, type)] and the normalizer_spec fields llama.cpp reads."""
    data = open(path, "rb").read()
    pieces = []
    normalizer = {"add_dummy_prefix": True, "remove_extra_whitespaces": True, "precompiled_charsmap": b""}
    model_type = 1  # UNIGRAM, the proto's default
    for number, _, value in fields(data):
        if number == 1:  # repeated SentencePiece pieces
            text, score, kind = b"", 0.0, TYPE_NORMAL
            for n, _, v in fields(value):
                if n == 1:
                    text = v
                elif n == 2:
                    score = struct.unpack("<f", v)[0]
                elif n == 3:
                    kind = v
            pieces.append((text, score, kind))
        elif number == 2:  # trainer_spec
            for n, _, v in fields(value):
                if n == 3:
                    model_type = v
        elif number == 3:  # normalizer_spec
            for n, _, v in fields(value):
                if n == 2:
                    normalizer["precompiled_charsmap"] = v
                elif n == 3:
                    normalizer["add_dummy_prefix"] = bool(v)
                elif n == 4:
                    normalizer["remove_extra_whitespaces"] = bool(v)
    if model_type != 1:
        sys.exit(f"{path}: trainer_spec.model_type is {model_type}, not Unigram (1)")
    return pieces, normalizer


# GGUF value types.
GGUF_UINT8, GGUF_INT32, GGUF_UINT32, GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 0, 5, 4, 6, 7, 8, 9


def gguf_string(b):
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, vtype, payload):
    return gguf_string(key.encode()) + struct.pack("<I", vtype) + payload


def gguf_array(elem_type, items, pack):
    return struct.pack("<IQ", elem_type, len(items)) + b"".join(pack(x) for x in items)


def write_gguf(path, kvs):
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    out += b"\0" * (-len(out) % 32)  # general.alignment, as gguf-py pads
    with open(path, "wb") as f:
        f.write(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--extra-ids", type=int, default=0)
    parser.add_argument("--name", default="t5-unigram-jitflow-test")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    pieces, normalizer = read_model(args.model)
    n_pieces = len(pieces)
    for i in range(args.extra_ids):
        pieces.append((f"<extra_id_{args.extra_ids - 1 - i}>".encode(), -1000.0, TYPE_USER_DEFINED))

    kvs = [
        gguf_kv("general.architecture", GGUF_STRING, gguf_string(b"t5")),
        gguf_kv("general.name", GGUF_STRING, gguf_string(args.name.encode())),
        gguf_kv("tokenizer.ggml.model", GGUF_STRING, gguf_string(b"t5")),
        gguf_kv("tokenizer.ggml.pre", GGUF_STRING, gguf_string(b"default")),
        gguf_kv("tokenizer.ggml.tokens", GGUF_ARRAY, gguf_array(GGUF_STRING, [p[0] for p in pieces], gguf_string)),
        gguf_kv("tokenizer.ggml.scores", GGUF_ARRAY,
                gguf_array(GGUF_FLOAT32, [p[1] for p in pieces], lambda x: struct.pack("<f", x))),
        gguf_kv("tokenizer.ggml.token_type", GGUF_ARRAY,
                gguf_array(GGUF_INT32, [p[2] for p in pieces], lambda x: struct.pack("<i", x))),
        gguf_kv("tokenizer.ggml.add_space_prefix", GGUF_BOOL, struct.pack("<?", normalizer["add_dummy_prefix"])),
        gguf_kv("tokenizer.ggml.remove_extra_whitespaces", GGUF_BOOL,
                struct.pack("<?", normalizer["remove_extra_whitespaces"])),
    ]
    charsmap = normalizer["precompiled_charsmap"]
    if charsmap:
        kvs.append(gguf_kv("tokenizer.ggml.precompiled_charsmap", GGUF_ARRAY,
                           struct.pack("<IQ", GGUF_UINT8, len(charsmap)) + charsmap))
    for key, value in [("eos_token_id", 1), ("unknown_token_id", 2), ("padding_token_id", 0)]:
        kvs.append(gguf_kv("tokenizer.ggml." + key, GGUF_UINT32, struct.pack("<I", value)))
    kvs.append(gguf_kv("tokenizer.ggml.add_bos_token", GGUF_BOOL, struct.pack("<?", False)))
    kvs.append(gguf_kv("tokenizer.ggml.add_eos_token", GGUF_BOOL, struct.pack("<?", True)))
    write_gguf(args.out, kvs)
    print(f"{args.out}: {n_pieces} pieces + {args.extra_ids} extra ids, charsmap {len(charsmap)} bytes")


if __name__ == "__main__":
    main()
