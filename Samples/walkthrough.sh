#!/usr/bin/env bash
# Two laptops and a USB stick, played on one machine: each "laptop" is a profile directory.
# Run from the repository root after `swift build`:  Samples/walkthrough.sh
set -euo pipefail
mule() { "${MULE:-.build/debug/mule}" "$@"; }
work=$(mktemp -d)
stick="$work/usb-stick"
mkdir -p "$stick"
trap 'rm -rf "$work"' EXIT
A=(--home "$work/alice-laptop")
B=(--home "$work/bob-laptop")

echo "== On each laptop, once: create the identity"
mule "${A[@]}" init --name Alice
mule "${B[@]}" init --name Bob

echo "== Bob reads his invite code to Alice (or sends it any way he likes); she adds it"
invite=$(mule "${B[@]}" id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["invite"])')
mule "${A[@]}" contacts add "$invite"

echo "== Alice writes, then exports to the stick"
mule "${A[@]}" send Bob "The generator needs diesel by Thursday."
mule "${A[@]}" export "$stick/to-bob.mule"
mule "${A[@]}" messages

echo "== The stick travels. Bob imports it"
mule "${B[@]}" import "$stick/to-bob.mule"
mule "${B[@]}" messages
mule "${B[@]}" contacts accept Alice
mule "${B[@]}" send Alice "Two cans on the way."
mule "${B[@]}" export "$stick/to-alice.mule"

echo "== The stick comes back. Alice imports: her message is delivered, Bob's reply is there"
mule "${A[@]}" import "$stick/to-alice.mule"
mule "${A[@]}" messages
mule "${A[@]}" status
