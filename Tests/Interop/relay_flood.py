"""A relay client written from Docs/PROTOCOL.md §6, §8 and §11 alone, on the `noiseprotocol`
package: it floods a Mule relay with deposits it did not pay for, then tries a paid deposit of
bytes that are not a bundle, then a frame a relay does not take.

usage: relay_flood.py HOST PORT

Prints one line per check and exits 0 when the relay behaved as the protocol says: every unpaid
deposit refused with "bad stamp" and the link closed after 8; a correctly stamped (so the stamp
computation here matches Mule's) non-bundle refused as "invalid"; an unknown frame closing the link.
"""
import hashlib
import os
import struct
import sys

from mule_link import Link, stamp_hash, zero_bits


def deposit(link, challenge, data, nonce):
    bundle_id = hashlib.blake2b(data, digest_size=32).digest()
    link.send_frame(8, bundle_id + struct.pack(">IQ", len(data), nonce))
    link.send_frame(5, bundle_id + struct.pack(">II", len(data), 0) + data)
    return bundle_id


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    ok = True

    # 1. Fifty deposits with stamps that do not hold.
    link = Link(host, port)
    challenge, bits = link.welcome()
    for i in range(50):
        data = os.urandom(1500 + i)
        bundle_id = hashlib.blake2b(data, digest_size=32).digest()
        nonce = 0
        while zero_bits(stamp_hash(challenge, bundle_id, len(data), nonce)) >= bits:
            nonce += 1
        try:
            deposit(link, challenge, data, nonce)
        except (BrokenPipeError, ConnectionResetError):
            break
    refused = 0
    while True:
        f = link.read_frame()
        if f is None:
            break
        if f[0] == 9 and f[1][32] == 2:
            refused += 1
    print(f"unpaid deposits: {refused} refused as bad stamp, then the link was closed")
    ok &= refused == 8

    # 2. A paid deposit of bytes that are no bundle: the stamp is right, the bundle is not.
    link = Link(host, port)
    challenge, bits = link.welcome()
    data = b"certainly not a bundle"
    bundle_id = hashlib.blake2b(data, digest_size=32).digest()
    nonce = 0
    while zero_bits(stamp_hash(challenge, bundle_id, len(data), nonce)) < bits:
        nonce += 1
    deposit(link, challenge, data, nonce)
    kind, p = link.read_frame()
    print(f"stamped non-bundle: result {p[32]} (5 is invalid)")
    ok &= kind == 9 and p[:32] == bundle_id and p[32] == 5

    # 3. A frame a relay does not take.
    link.send_frame(1, b"\x01")
    closed = link.read_frame() is None
    print(f"syncStart to a relay: link closed: {closed}")
    ok &= closed
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
