"""A hostile peer for Mule nodes and relays, written from Docs/PROTOCOL.md alone on the
`noiseprotocol` package (see mule_link.py). Each case spends one resource of the target as fast as
it can; Tests/Adversary/adversary-test.sh runs them against the real `mule` and checks that the
target stays bounded, that a legitimate peer still links and delivers, and that the target is
idle again soon after the attacker leaves.

usage: mesh_attack.py HOST PORT SOURCE CASE [ARG]
  syncstart SECONDS   reconciliation rounds started over and over, reconnecting when dropped
  parts N             N offers, each answered with a 16-byte part claiming an 80 MiB bundle
  wants MB            MB megabytes of `want` frames, never reading what comes back
  hold N SECONDS      N connections that never finish the handshake, held
  linked N SECONDS    N finished links kept alive with pings, held
  visible             a link announcing a name with a signature that does not hold, held 5 s
  deposits N SECONDS  relay: N links each start a 32 MiB deposit (stamped) and then only ping

SOURCE is the local address to connect from (any of 127.0.0.0/8). Prints one line with counts.
"""
import os
import socket
import struct
import sys
import time

from mule_link import DEPOSIT, OFFER, PART, PING, SYNC_START, WANT, Link, connect, stamp_hash, zero_bits

# A reconciliation message (§7): version 1, one range to infinity, mode skip.
EMPTY_ROUND = bytes([0x01, 0x00, 0x00, 0x00])


def syncstart(host, port, source, seconds):
    sent = links = dropped = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            link = Link(host, port, source)
            links += 1
            while time.time() < end:
                link.send_frame(SYNC_START, EMPTY_ROUND)
                sent += 1
        except (OSError, EOFError, AssertionError, struct.error, Exception):
            dropped += 1
            time.sleep(0.01)
    print(f"syncstart: {sent} rounds started on {links} links, dropped {dropped} times")


def parts(host, port, source, n):
    link = Link(host, port, source)
    ids = [os.urandom(32) for _ in range(n)]
    for i in range(0, n, 4096):
        link.send_frame(OFFER, b"".join(ids[i : i + 4096]))
    asked = answered = 0
    link.s.settimeout(5)
    while answered < n:
        f = link.read_frame()
        if f is None:
            break
        kind, p = f
        if kind != WANT:
            continue
        for k in range(0, len(p), 36):
            asked += 1
            bid = p[k : k + 32]
            link.send_frame(PART, bid + struct.pack(">II", 80 << 20, 0) + os.urandom(16))
            answered += 1
    time.sleep(2)
    print(f"parts: {n} offered, {asked} asked for, {answered} answered with 16 of a claimed 80 MiB")


def wants(host, port, source, megabytes):
    link = Link(host, port, source)
    link.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    frame = b"".join(os.urandom(32) + struct.pack(">I", 0) for _ in range(4096))
    sent = 0
    link.s.settimeout(10)
    try:
        while sent < megabytes << 20:
            link.send_frame(WANT, frame)
            sent += len(frame)
    except (OSError, socket.timeout):
        pass
    print(f"wants: {sent >> 20} MB of want frames sent without reading; closed by the node: {link.closed(15)}")


def opened(n, make):
    """Up to n connections made by make(); the ones the target refused are left out."""
    out = []
    for _ in range(n):
        try:
            out.append(make())
        except Exception:
            pass
    return out


def keep_alive(links, seconds):
    """Pings every link once a second for `seconds`."""
    end = time.time() + seconds
    while time.time() < end:
        for link in links:
            try:
                link.send_frame(PING)
            except OSError:
                pass
        time.sleep(1)


def hold(host, port, source, n, seconds):
    conns = opened(n, lambda: connect(host, port, source))
    time.sleep(seconds)
    print(f"hold: {len(conns)} connections held {seconds} s without a handshake")


def linked(host, port, source, n, seconds):
    links = opened(n, lambda: Link(host, port, source))
    keep_alive(links, seconds)
    print(f"linked: {len(links)} links kept alive {seconds} s with pings")


def visible(host, port, source):
    name = b"Mallory"
    # [1, [name, signing key, agreement key, signature]] with a signature over nothing.
    hello = bytes([0x82, 0x01, 0x84, 0x60 | len(name)]) + name
    hello += bytes([0x58, 32]) + os.urandom(32) + bytes([0x58, 32]) + os.urandom(32) + bytes([0x58, 64]) + os.urandom(64)
    link = Link(host, port, source, hello=hello)
    for _ in range(5):
        link.send_frame(PING)
        time.sleep(1)
    print("visible: a link announced 'Mallory' with a signature that does not hold")


def deposits(host, port, source, n, seconds):
    total = 32 << 20
    links, accepted = [], 0
    for _ in range(n):
        try:
            link = Link(host, port, source)
            challenge, bits = link.welcome()
            need = bits + 5  # one bit more per doubling above 1 MiB
            bid = os.urandom(32)
            nonce = 0
            while zero_bits(stamp_hash(challenge, bid, total, nonce)) < need:
                nonce += 1
            link.send_frame(DEPOSIT, bid + struct.pack(">IQ", total, nonce))
            link.send_frame(PART, bid + struct.pack(">II", total, 0) + os.urandom(60000))
            links.append(link)
        except Exception:
            pass
    keep_alive(links, seconds)
    closed = sum(1 for link in links if link.closed(0.1))
    print(f"deposits: {len(links)} links started 32 MiB deposits and only pinged; {closed} closed by the relay")


def main():
    host, port, source, case = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    args = [int(a) for a in sys.argv[5:]]
    {
        "syncstart": lambda: syncstart(host, port, source, *args),
        "parts": lambda: parts(host, port, source, *args),
        "wants": lambda: wants(host, port, source, *args),
        "hold": lambda: hold(host, port, source, *args),
        "linked": lambda: linked(host, port, source, *args),
        "visible": lambda: visible(host, port, source),
        "deposits": lambda: deposits(host, port, source, *args),
    }[case]()


if __name__ == "__main__":
    main()
