#!/usr/bin/env python3
"""Splits a process's `perf script` samples (with call chains) into categories of work, in CPU ns per byte moved.

Usage: perf script -i DATA | perf-categories.py --name NAME --freq HZ --bytes BYTES [--top N]

A sample's category is decided by its call chain (the first rule that matches, in the order below), so time spent
in the kernel on behalf of, say, the checkpoint writer counts as checkpoint time, not as kernel time.
"""
import argparse
import collections
import re
import sys

# (category, test on the whole call chain text, test on the leaf frame); the first match wins.
RULES = [
    ("durable state between rounds (checkpoint, model file)", r"StateStore::|RunOutputs::|Safetensors::Write", None),
    ("update spool file", r"SpoolFile::", None),
    # OpenSSL has no frame pointers, so a libcrypto sample's caller is unknown: with --insecure it is SHA-256 (the
    # chunk digests); with kits it also holds AES-GCM (payload encryption) and the TLS records.
    ("libcrypto: SHA-256 (with kits also AES-GCM and TLS)", None, r"libcrypto|libssl|Sha256|SHA256"),
    ("NaN/Inf check and fold", None, r"AggregationKernels|FoldWeighted|AllFinite"),
    ("kernel: page faults", r"exc_page_fault|asm_exc_page_fault", r"kernel"),
    ("kernel: copies to and from sockets", None, r"_copy_to_iter|_copy_from_iter|copy_user|rep_movs"),
    ("kernel: TCP, scheduling, other", None, r"kernel"),
    ("user-space copies and zeroing", None, r"memmove|memcpy|memset|Buffer::Memmove|SpanHelpers::ClearWithoutReferences"),
    ("JIT compiler", None, r"libclrjit"),
    ("runtime (GC, allocation, stubs)", None, r"libcoreclr|libclrgc|stub "),
    ("Federate code", None, r"\[Federate\."),
    ("ASP.NET Core, gRPC and other .NET code", None, r"\[System\.|\[Microsoft\.|\[Grpc\.|\[Google\."),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--freq", type=float, required=True)
    parser.add_argument("--bytes", type=float, required=True)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()

    categories = collections.Counter()
    leaves = collections.Counter()
    total = 0
    for block in sys.stdin.read().split("\n\n"):
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        total += 1
        frames = [re.sub(r"^[0-9a-f]+ ", "", line) for line in lines[1:]]
        leaf = frames[0]
        chain = "\n".join(frames)
        category = "other"
        for name, chain_rule, leaf_rule in RULES:
            if chain_rule and not re.search(chain_rule, chain):
                continue
            if leaf_rule and not re.search(leaf_rule, leaf):
                continue
            category = name
            break
        categories[category] += 1
        leaves[re.sub(r"\+0x[0-9a-f]+ ", " ", leaf)[:120]] += 1

    if total == 0:
        print(f"{args.name}: no samples")
        return
    cpu = total / args.freq
    durable = categories["durable state between rounds (checkpoint, model file)"]
    print(f"{args.name}: {cpu:.2f} s of CPU, {cpu * 1e9 / args.bytes:.2f} ns per byte moved"
          f" ({(total - durable) / args.freq * 1e9 / args.bytes:.2f} without the durable state written between rounds)")
    for name, count in categories.most_common():
        print(f"  {name:<56} {100 * count / total:5.1f}%  {count / args.freq * 1e9 / args.bytes:5.2f} ns/byte")
    print("  top leaf functions:")
    for name, count in leaves.most_common(args.top):
        print(f"    {100 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
