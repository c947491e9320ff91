"""Checks Mule's BPv7 bundles with pyd3tn, an independent implementation, and makes bundles for Mule.

usage: pyd3tn_interop.py check FILE   -> JSON description of the bundle in FILE, CRCs recomputed by pyd3tn
       pyd3tn_interop.py make         -> JSON list of bundles made by pyd3tn, hex-encoded, with their fields
"""
import json
import sys

from pyd3tn.bundle7 import (Bundle, BundleAgeBlock, CRCType, CreationTimestamp, HopCountBlock, PayloadBlock,
                            PreviousNodeBlock, PrimaryBlock, BundleProcFlag)


def eid_text(eid):
    return str(eid)


def check(path):
    data = open(path, "rb").read()
    b = Bundle.parse(data)
    p = b.primary_block
    blocks = []
    ok = p.crc_provided == p.calculate_crc() if p.crc_type != CRCType.NONE else True
    for blk in b:
        if blk is p:
            continue
        if blk.crc_type != CRCType.NONE:
            ok = ok and blk.crc_provided == blk.calculate_crc()
        blocks.append({"type": int(blk.block_type), "number": blk.block_number, "crc_type": int(blk.crc_type),
                       "data": blk.data.hex()})
    # pyd3tn re-serialises: the bytes must be identical to Mule's.
    same = bytes(b) == data
    print(json.dumps({
        "version": p.version, "flags": int(p.bundle_proc_flags), "crc_type": int(p.crc_type),
        "destination": eid_text(p.destination), "source": eid_text(p.source), "report_to": eid_text(p.report_to),
        "creation_ms": p.creation_time[0], "sequence": p.creation_time[1], "lifetime": p.lifetime,
        "crc_ok": ok, "reencoded_identical": same, "blocks": blocks,
    }))


def make():
    out = []
    cases = [
        dict(dest="dtn://bob/inbox", src="dtn://alice/", crc_p=CRCType.CRC32, crc_c=CRCType.CRC32, extra=[]),
        dict(dest="dtn://bob/inbox", src="dtn:none", crc_p=CRCType.CRC16, crc_c=CRCType.CRC16, extra=["age", "hop"]),
        dict(dest="ipn:23.42", src="ipn:1.7", crc_p=CRCType.NONE, crc_c=CRCType.NONE, extra=["prev"]),
        dict(dest="dtn://x/y", src="ipn:9.1", crc_p=CRCType.CRC32, crc_c=CRCType.CRC16, extra=["hop", "prev"]),
    ]
    for i, c in enumerate(cases):
        payload = ("payload %d " % i).encode() * (i * 40 + 1)
        blocks = []
        n = 2
        for e in c["extra"]:
            if e == "age":
                blocks.append(BundleAgeBlock(1234, block_number=n, crc_type=c["crc_c"]))
            elif e == "hop":
                blocks.append(HopCountBlock(30, 2, block_number=n, crc_type=c["crc_c"]))
            else:
                blocks.append(PreviousNodeBlock("dtn://carol/", block_number=n, crc_type=c["crc_c"]))
            n += 1
        primary = PrimaryBlock(bundle_proc_flags=BundleProcFlag.MUST_NOT_BE_FRAGMENTED, crc_type=c["crc_p"],
                               destination=c["dest"], source=c["src"], report_to="dtn:none",
                               creation_time=CreationTimestamp(1700000000 + i, i), lifetime=3600000 * (i + 1))
        bundle = Bundle(primary, PayloadBlock(payload, crc_type=c["crc_c"]), blocks)
        out.append({"hex": bytes(bundle).hex(), "destination": c["dest"], "source": c["src"],
                    "creation_ms": primary.creation_time[0], "sequence": i, "lifetime": primary.lifetime,
                    "payload": payload.hex(), "blocks": len(blocks) + 1, "crc_type": int(c["crc_p"])})
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2])
    elif sys.argv[1] == "make":
        make()
    else:
        sys.exit("unknown mode")
