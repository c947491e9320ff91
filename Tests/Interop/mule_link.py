"""A Mule link client written from Docs/PROTOCOL.md §6 and §8 alone, on the `noiseprotocol`
package: Noise XX over TCP with 2-byte length-prefixed messages, then frames
`u32 length ‖ type ‖ payload` on the plaintext stream. Shared by the independent test clients
(relay_flood.py, mesh_attack.py)."""
import hashlib
import os
import socket
import struct

from noise.connection import Keypair, NoiseConnection

HELLO = bytes([0x82, 0x01, 0xF6])  # CBOR [1, null]

SYNC_START, SYNC, OFFER, WANT, PART, PING = 1, 2, 3, 4, 5, 6
DEPOSIT, DEPOSIT_RESULT = 8, 9


def connect(host, port, source=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, port))
    return s


class Link:
    def __init__(self, host, port, source=None, hello=HELLO, timeout=10):
        self.s = connect(host, port, source, timeout)
        self.n = NoiseConnection.from_name(b"Noise_XX_25519_ChaChaPoly_BLAKE2b")
        self.n.set_as_initiator()
        self.n.set_keypair_from_private_bytes(Keypair.STATIC, os.urandom(32))
        self.n.set_prologue(b"mule-link-v1")
        self.n.start_handshake()
        self.send_message(self.n.write_message(b""))
        self.n.read_message(self.read_message())
        self.send_message(self.n.write_message(hello))
        assert self.n.handshake_finished
        self.stream = b""

    def send_message(self, m):
        self.s.sendall(struct.pack(">H", len(m)) + m)

    def read_exactly(self, k):
        out = b""
        while len(out) < k:
            c = self.s.recv(k - len(out))
            if not c:
                raise EOFError
            out += c
        return out

    def read_message(self):
        (k,) = struct.unpack(">H", self.read_exactly(2))
        return self.read_exactly(k)

    def send_frame(self, kind, payload=b""):
        body = bytes([kind]) + payload
        plain = struct.pack(">I", len(body)) + body
        for i in range(0, len(plain), 65000):
            self.send_message(self.n.encrypt(plain[i : i + 65000]))

    def read_frame(self):
        """(type, payload), or None once the other side closed the connection or went quiet."""
        while True:
            if len(self.stream) >= 4:
                (k,) = struct.unpack(">I", self.stream[:4])
                if len(self.stream) >= 4 + k:
                    body = self.stream[4 : 4 + k]
                    self.stream = self.stream[4 + k :]
                    return body[0], body[1:]
            try:
                self.stream += self.n.decrypt(self.read_message())
            except (EOFError, ConnectionResetError, socket.timeout, OSError):
                return None

    def closed(self, seconds=10):
        """True once the other side closed the connection (reads and drops until then)."""
        self.s.settimeout(seconds)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except (socket.timeout, OSError):
            return False

    def welcome(self):
        kind, p = self.read_frame()
        assert kind == 7 and len(p) == 22 and p[0] == 1, (kind, p)
        return p[1:17], p[17]


def stamp_hash(challenge, bundle_id, total, nonce):
    """A relay deposit's proof-of-work hash (PROTOCOL §11)."""
    data = b"mule-relay-stamp-v1" + challenge + bundle_id + struct.pack(">IQ", total, nonce)
    return hashlib.blake2b(data, digest_size=32).digest()


def zero_bits(h):
    """Leading zero bits of a hash."""
    n = 0
    for b in h:
        if b == 0:
            n += 8
            continue
        return n + 8 - b.bit_length()
    return n
