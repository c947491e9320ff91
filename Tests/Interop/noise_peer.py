"""A Noise_XX_25519_ChaChaPoly_BLAKE2b peer built on the `noiseprotocol` package (an independent
implementation), driven over stdin/stdout with one hex line per message.

usage: noise_peer.py initiator|responder STATIC_PRIVATE_HEX PROLOGUE_HEX

Handshake: the initiator writes message 1 with payload "i1", reads 2, writes 3 with "i3";
the responder reads 1, writes 2 with "r2", reads 3. Each side prints "payload <hex>" for every
payload it reads, then "remote <hex>" with the peer's static key and "hash <hex>" with the
handshake hash. Transport: every line read is
decrypted and answered with the encryption of "echo:" + plaintext; a line "end" stops it.
"""
import sys

from noise.connection import Keypair, NoiseConnection


def main():
    role, priv, prologue = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
    n = NoiseConnection.from_name(b"Noise_XX_25519_ChaChaPoly_BLAKE2b")
    n.set_as_initiator() if role == "initiator" else n.set_as_responder()
    n.set_keypair_from_private_bytes(Keypair.STATIC, priv)
    n.set_prologue(prologue)
    n.start_handshake()
    hs = n.noise_protocol.handshake_state  # deleted from the connection once the handshake ends

    def out(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def read():
        return bytes.fromhex(sys.stdin.readline().strip())

    if role == "initiator":
        out(n.write_message(b"i1").hex())
        out("payload " + n.read_message(read()).hex())
        out(n.write_message(b"i3").hex())
    else:
        out("payload " + n.read_message(read()).hex())
        out(n.write_message(b"r2").hex())
        out("payload " + n.read_message(read()).hex())
    assert n.handshake_finished
    out("remote " + hs.rs.public_bytes.hex())
    out("hash " + n.get_handshake_hash().hex())
    for line in sys.stdin:
        line = line.strip()
        if line == "end":
            break
        pt = n.decrypt(bytes.fromhex(line))
        out(n.encrypt(b"echo:" + pt).hex())


if __name__ == "__main__":
    main()
