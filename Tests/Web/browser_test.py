"""Browser tests of the local web app: real headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium, against three real `mule run --ui` nodes on loopback.

- Alice's page sends; Bob's page shows it within a second without a reload; Alice's page then
  shows `delivered`.
- A file uploaded on Alice's page arrives byte-identical, downloaded through Bob's page.
- A stick file downloaded from Alice's page and uploaded into Carol's page (Carol's node has no
  link to anyone) delivers.
Screenshots of each page, at 360 px wide and on a desktop, go to $SHOTS.
"""
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

MULE = os.environ["MULE"]
WORK = os.environ["WORK"]
SHOTS = os.environ.get("SHOTS", os.path.join(WORK, "shots"))
os.makedirs(SHOTS, exist_ok=True)
procs = []


def fail(msg):
    print("browser-test: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def mule(home, *args):
    r = subprocess.run([MULE, "--home", home, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"mule {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def run_node(name, *args):
    home = os.path.join(WORK, name)
    log = open(os.path.join(WORK, name + ".log"), "w")
    p = subprocess.Popen([MULE, "--home", home, "run", "--no-mdns", "--ui", "--ui-listen", "127.0.0.1:0", *args],
                         stdout=log, stderr=log)
    procs.append(p)
    deadline = time.time() + 20
    while time.time() < deadline:
        text = open(os.path.join(WORK, name + ".log")).read()
        url = re.search(r"web app at (http://\S+)", text)
        listen = re.search(r"listening on (\S+)", text)
        if url and listen:
            return url.group(1), listen.group(1)
        if p.poll() is not None:
            fail(f"{name}'s node ended: {text}")
        time.sleep(0.1)
    fail(f"{name}'s node did not start the web app")


def browser(name, width=1200, height=900):
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
              "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--disable-default-apps", "--metrics-recording-only"]:
        options.add_argument(a)
    downloads = os.path.join(WORK, name + "-downloads")
    os.makedirs(downloads, exist_ok=True)
    options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                              "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    d.downloads = downloads
    return d


def wait(what, check, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            v = check()
            if v:
                return v
        except Exception:
            pass
        time.sleep(0.02)
    fail("timed out waiting for " + what)


def shot(d, name):
    d.save_screenshot(os.path.join(SHOTS, name + ".png"))


def message_items(d):
    return d.find_elements(By.CSS_SELECTOR, "#messages li")


def main():
    for name, display in [("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")]:
        mule(os.path.join(WORK, name), "init", "--name", display)
    invites = {n: json.loads(mule(os.path.join(WORK, n), "id", "--json"))["invite"] for n in ["alice", "bob", "carol"]}
    for a, b in [("alice", "bob"), ("bob", "alice"), ("alice", "carol"), ("carol", "alice")]:
        mule(os.path.join(WORK, a), "contacts", "add", invites[b])

    alice_url, alice_listen = run_node("alice", "--listen", "127.0.0.1:0")
    bob_url, _ = run_node("bob", "--listen", "127.0.0.1:0", "--peer", alice_listen)
    carol_url, _ = run_node("carol", "--listen", "127.0.0.1:0")

    pa, pb, pc = browser("alice"), browser("bob"), browser("carol")
    try:
        for d, url in [(pa, alice_url), (pb, bob_url), (pc, carol_url)]:
            d.get(url)
            wait("the chats page after signing in", lambda: d.find_element(By.CSS_SELECTOR, "h1").text == "Chats")
        # A second use of a sign-in link is refused; `mule ui` prints a new one for the running node.
        pc2 = browser("stranger")
        pc2.get(alice_url)
        if "used already" not in pc2.page_source:
            fail("a sign-in link worked twice")
        fresh = mule(os.path.join(WORK, "alice"), "ui").strip()
        if not fresh.startswith("http://127.0.0.1:") or fresh == alice_url:
            fail("mule ui did not print a new sign-in link: " + fresh)
        pc2.get(fresh)
        wait("the chats page through the link 'mule ui' printed", lambda: pc2.find_element(By.CSS_SELECTOR, "h1").text == "Chats")
        pc2.quit()

        wait("the link between Alice and Bob", lambda: json.loads(mule(os.path.join(WORK, "alice"), "peers", "--json"))["links"])
        pa.get(alice_url.split("/login")[0] + "/c/Bob")
        pb.get(bob_url.split("/login")[0] + "/c/Alice")
        wait("Bob's page", lambda: pb.find_element(By.ID, "send"))
        pb.execute_script("window.__noReload = 42;")

        # Alice sends three lines; each appears on Bob's page without a reload.
        latencies = []
        for i in range(3):
            text = f"hello Bob, line {i} \u00e9\u00e8 \u4f60\u597d"
            box = pa.find_element(By.ID, "text")
            box.send_keys(text)
            start = time.time()
            pa.find_element(By.CSS_SELECTOR, "#send button[type=submit]").click()
            wait(f"line {i} on Bob's page",
                 lambda: any(li.find_element(By.CSS_SELECTOR, ".text").text == text for li in message_items(pb)
                             if li.find_elements(By.CSS_SELECTOR, ".text")))
            latencies.append(time.time() - start)
        if pb.execute_script("return window.__noReload;") != 42:
            fail("Bob's page reloaded")
        print("browser-test: Alice's page → Bob's page: " + ", ".join(f"{x * 1000:.0f} ms" for x in latencies))
        if statistics.median(latencies) > 1.0:
            fail(f"messages took {statistics.median(latencies):.2f} s (median) to show on Bob's page; the bound is 1 s")
        # Alice's page then shows each delivered, with its path.
        wait("delivered on Alice's page", lambda: all(
            li.find_element(By.CSS_SELECTOR, ".status").text == "delivered" for li in message_items(pa)
            if "out" in li.get_attribute("class")) and len(message_items(pa)) >= 3)
        if "lan" not in message_items(pa)[-1].find_element(By.CSS_SELECTOR, ".path").text:
            fail("the delivered message does not show its path")
        shot(pa, "conversation-alice-desktop")
        shot(pb, "conversation-bob-desktop")

        # A file: uploaded on Alice's page, downloaded through Bob's, byte-identical.
        data = bytes((i * 131 + 7) % 256 for i in range(1_500_000))
        path = os.path.join(WORK, "photo.bin")
        open(path, "wb").write(data)
        pa.find_element(By.ID, "file").send_keys(path)
        link = wait("the file on Bob's page", lambda: [a for a in pb.find_elements(By.CSS_SELECTOR, "#messages a.file")
                                                         if a.text == "photo.bin"], timeout=30)[0]
        link.click()
        got = wait("the download", lambda: [f for f in os.listdir(pb.downloads) if f.startswith("photo") and
                                            not f.endswith(".crdownload")], timeout=30)
        downloaded = open(os.path.join(pb.downloads, got[0]), "rb").read()
        if hashlib.sha256(downloaded).digest() != hashlib.sha256(data).digest():
            fail(f"the downloaded file differs ({len(downloaded)} bytes, sent {len(data)})")
        print(f"browser-test: a {len(data)}-byte file arrived byte-identical")

        # The stick: Alice writes to Carol, whose node links with nobody; Alice's page downloads a
        # bundle file and Carol's page uploads it.
        pa.get(alice_url.split("/login")[0] + "/c/Carol")
        pa.find_element(By.ID, "text").send_keys("carried by hand to Carol")
        pa.find_element(By.CSS_SELECTOR, "#send button[type=submit]").click()
        wait("Alice's message to Carol", lambda: len(message_items(pa)) == 1)
        pa.get(alice_url.split("/login")[0] + "/stick")
        pa.find_element(By.ID, "export").click()
        stick = wait("the stick file", lambda: [f for f in os.listdir(pa.downloads) if f.endswith(".mule")], timeout=30)
        stick_path = os.path.join(pa.downloads, stick[0])
        shot(pa, "stick-desktop")
        pc.get(carol_url.split("/login")[0] + "/stick")
        pc.find_element(By.ID, "files").send_keys(stick_path)
        pc.find_element(By.CSS_SELECTOR, "#import button[type=submit]").click()
        result = wait("the import result", lambda: pc.find_element(By.CSS_SELECTOR, "#results li").text)
        if "1 for you" not in result:
            fail("Carol's import: " + result)
        pc.get(carol_url.split("/login")[0] + "/c/Alice")
        wait("Alice's message on Carol's page", lambda: any(
            li.text.startswith("carried by hand to Carol") for li in message_items(pc)))
        if "file" not in message_items(pc)[0].find_element(By.CSS_SELECTOR, ".path").text:
            fail("the carried message does not say it came by file")
        print("browser-test: a stick file from Alice's page delivered on Carol's page: " + result)

        # A node started without --ui: `mule ui` serves the web app from its own process, with the
        # node's events through node.sock.
        dave = os.path.join(WORK, "dave")
        mule(dave, "init", "--name", "Dave")
        dlog = open(os.path.join(WORK, "dave.log"), "w")
        procs.append(subprocess.Popen([MULE, "--home", dave, "run", "--no-mdns", "--listen", "127.0.0.1:0"], stdout=dlog, stderr=dlog))
        wait("Dave's node", lambda: "listening on" in open(os.path.join(WORK, "dave.log")).read())
        ulog = open(os.path.join(WORK, "dave-ui.log"), "w")
        procs.append(subprocess.Popen([MULE, "--home", dave, "ui", "--ui-listen", "127.0.0.1:0"], stdout=ulog, stderr=ulog))
        dave_url = wait("the web app of 'mule ui'", lambda: re.search(r"web app at (http://\S+)",
                                                                     open(os.path.join(WORK, "dave-ui.log")).read())).group(1)
        pd = browser("dave")
        try:
            pd.get(dave_url)
            wait("Dave's chats page", lambda: pd.find_element(By.CSS_SELECTOR, "h1").text == "Chats")
            pd.get(dave_url.split("/login")[0] + "/network")
            wait("Dave's network page", lambda: "The node is running" in pd.find_element(By.ID, "network").text)
        finally:
            pd.quit()
        print("browser-test: 'mule ui' served the web app for a node started without --ui")

        # Screenshots of every page, on a phone (360 px) and a desktop.
        for width, label in [(360, "phone"), (1200, "desktop")]:
            pb.set_window_size(width, 800)
            for path, name in [("/", "chats"), ("/c/Alice", "conversation"), ("/contacts", "contacts"),
                               ("/stick", "stick"), ("/network", "network")]:
                pb.get(bob_url.split("/login")[0] + path)
                time.sleep(0.3)
                overflow = pb.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1;")
                if overflow:
                    fail(f"{path} is wider than a {width}-px screen")
                shot(pb, f"{name}-{label}")
        print("browser-test: screenshots in " + SHOTS)
    finally:
        for d in (pa, pb, pc):
            d.quit()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
    print("browser-test: passed")
