/// The web app's stylesheet and script, in the binary: a page loads nothing from anywhere else.
enum WebAssets {
    static let css = #"""
        :root { --fg: #1b1b1b; --muted: #666; --line: #ddd; --accent: #1f6f4a; --bg: #fafaf7; --out: #dff3e7; --in: #fff; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .6rem 1rem;
                 background: var(--accent); color: #fff; }
        header .brand { font-weight: 700; }
        nav { display: flex; gap: .8rem; flex-wrap: wrap; }
        nav a { color: #fff; text-decoration: none; opacity: .85; }
        nav a.here { opacity: 1; border-bottom: 2px solid #fff; }
        main { max-width: 48rem; margin: 0 auto; padding: .8rem; }
        h1 { font-size: 1.3rem; margin: .3rem 0; } h2 { font-size: 1.05rem; }
        .fingerprint { font-family: ui-monospace, monospace; font-size: .85rem; color: var(--muted); word-break: break-word; }
        .verified { color: var(--accent); font-size: .85rem; }
        .tag { font-size: .75rem; background: #f3e3b5; border-radius: .3rem; padding: 0 .3rem; }
        .warning { background: #fff3cd; border: 1px solid #e6cf7a; padding: .5rem; border-radius: .4rem; }
        .error { color: #a01818; } .empty { color: var(--muted); }
        ul { list-style: none; padding: 0; margin: 0; }
        .conversations li a { display: grid; grid-template-columns: 1fr auto; gap: .1rem .5rem; padding: .6rem;
                              border-bottom: 1px solid var(--line); color: inherit; text-decoration: none; }
        .conversations .last { grid-column: 1 / 3; color: var(--muted); overflow: hidden; text-overflow: ellipsis;
                               white-space: nowrap; }
        .unread { background: var(--accent); color: #fff; border-radius: 1rem; padding: 0 .5rem; font-size: .8rem;
                  align-self: center; }
        .messages { display: flex; flex-direction: column; gap: .35rem; margin: .5rem 0 5rem; }
        .msg { max-width: 85%; } .msg.out { align-self: flex-end; text-align: right; }
        .bubble { display: inline-block; padding: .4rem .6rem; border-radius: .6rem; background: var(--in);
                  border: 1px solid var(--line); text-align: left; white-space: pre-wrap; word-break: break-word; }
        .msg.out .bubble { background: var(--out); }
        .meta { font-size: .72rem; color: var(--muted); }
        #send { position: fixed; left: 0; right: 0; bottom: 0; display: flex; gap: .4rem; padding: .5rem;
                background: var(--bg); border-top: 1px solid var(--line); max-width: 48rem; margin: 0 auto; }
        #send input[type=text], #send #text { flex: 1; min-width: 0; padding: .5rem; font: inherit; }
        .attach { cursor: pointer; padding: .4rem; }
        button, .button { font: inherit; padding: .4rem .8rem; border: 1px solid var(--accent); background: var(--accent);
                          color: #fff; border-radius: .4rem; cursor: pointer; text-decoration: none; display: inline-block; }
        .contacts li { display: flex; flex-direction: column; gap: .2rem; padding: .6rem 0; border-bottom: 1px solid var(--line); }
        .actions { display: flex; gap: .4rem; flex-wrap: wrap; }
        textarea, input { font: inherit; width: 100%; padding: .4rem; margin: .2rem 0; }
        #send input { width: auto; }
        .qr svg { width: 12rem; height: 12rem; max-width: 100%; }
        table { border-collapse: collapse; width: 100%; font-size: .9rem; } td, th { text-align: left; padding: .3rem;
        border-bottom: 1px solid var(--line); word-break: break-word; }
        progress { width: 100%; }
        """#

    static let js = #"""
        "use strict";
        const csrf = document.querySelector('meta[name=csrf]').content;
        const page = document.body.dataset.page;
        const $ = (id) => document.getElementById(id);
        function esc(s) { const d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
        function showError(text) { const e = $("error"); if (e) { e.textContent = text; e.hidden = !text; } }
        async function api(method, url, body) {
          const init = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
          if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
          const r = await fetch(url, init);
          const data = r.headers.get("Content-Type")?.startsWith("application/json") ? await r.json() : null;
          if (!r.ok) throw new Error(data?.error || r.statusText);
          return data;
        }
        function upload(url, file, progress) {
          return new Promise((resolve, reject) => {
            const x = new XMLHttpRequest();
            x.open("POST", url);
            x.setRequestHeader("X-CSRF-Token", csrf);
            x.setRequestHeader("Content-Type", "application/octet-stream");
            x.upload.onprogress = (e) => { if (e.lengthComputable) progress(Math.round(100 * e.loaded / e.total)); };
            x.onload = () => {
              let data = null; try { data = JSON.parse(x.responseText); } catch (_) {}
              if (x.status >= 200 && x.status < 300) resolve(data); else reject(new Error(data?.error || x.statusText));
            };
            x.onerror = () => reject(new Error("the upload failed"));
            x.send(file);
          });
        }
        function times(root) {
          for (const t of (root || document).querySelectorAll("time[data-ts]")) {
            const d = new Date(Number(t.dataset.ts));
            t.textContent = d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
          }
        }
        function messageItem(m) {
          const li = document.createElement("li");
          li.className = "msg " + (m.direction === "out" ? "out" : "in");
          li.dataset.id = m.id;
          let content;
          if (m.text !== undefined && m.text !== null) content = '<span class="text">' + esc(m.text) + "</span>";
          else if (m.direction === "in") content = '<a class="file" href="/api/v1/messages/' + m.id + '/file" download>' + esc(m.fileName || "file") + "</a>";
          else content = '<span class="file">' + esc(m.fileName || "file") + "</span>";
          const status = m.direction === "out" ? m.status : "received";
          li.innerHTML = '<div class="bubble">' + content + '</div><div class="meta"><time data-ts="' + m.sentAt +
            '"></time> · <span class="status">' + esc(status) + '</span><span class="path">' + (m.path ? " · " + esc(m.path) : "") + "</span></div>";
          times(li);
          return li;
        }
        function addMessage(m) {
          const list = $("messages");
          if (!list || list.querySelector('[data-id="' + m.id + '"]')) return;
          list.appendChild(messageItem(m));
          window.scrollTo(0, document.body.scrollHeight);
        }
        const order = { queued: 0, sent: 1, delivered: 2 };
        function setStatus(id, status, path) {
          const li = document.querySelector('#messages [data-id="' + id + '"]');
          if (!li) return;
          const s = li.querySelector(".status");
          if ((order[status] ?? 0) >= (order[s.textContent] ?? 0)) s.textContent = status;
          if (path) li.querySelector(".path").textContent = " · " + path;
        }
        function listen(handler) {
          const source = new EventSource("/api/v1/events");
          source.onmessage = (e) => handler(JSON.parse(e.data));
          for (const type of ["messageArrived", "messageQueued", "messageStatus", "contactRequest", "contactsChanged",
                              "presence", "linkUp", "linkDown", "stickImported", "received", "transfer"]) {
            source.addEventListener(type, (e) => handler(JSON.parse(e.data)));
          }
          return source;
        }
        times();
        if (page === "conversation") {
          const contact = document.body.dataset.contact;
          window.scrollTo(0, document.body.scrollHeight);
          $("send").addEventListener("submit", async (e) => {
            e.preventDefault();
            const text = $("text").value.trim();
            if (!text) return;
            try {
              const m = await api("POST", "/api/v1/conversations/" + contact + "/messages", { text });
              $("text").value = ""; showError(""); addMessage(m);
            } catch (err) { showError(err.message); }
          });
          $("file").addEventListener("change", async () => {
            const f = $("file").files[0];
            if (!f) return;
            const bar = $("upload"); bar.hidden = false; bar.value = 0;
            try {
              const m = await upload("/api/v1/conversations/" + contact + "/files?name=" + encodeURIComponent(f.name), f, (p) => bar.value = p);
              showError(""); addMessage(m);
            } catch (err) { showError(err.message); }
            bar.hidden = true; $("file").value = "";
          });
          const earlier = $("earlier");
          if (earlier) earlier.addEventListener("click", async () => {
            const list = await api("GET", "/api/v1/conversations/" + contact + "/messages?limit=200&before=" + earlier.dataset.before);
            const ul = $("messages");
            for (const m of list.reverse()) ul.insertBefore(messageItem(m), ul.firstChild);
            if (list.length < 200) earlier.remove(); else earlier.dataset.before = list[list.length - 1].sentAt;
          });
          listen((e) => {
            if (e.type === "messageArrived" && e.message.contactID === contact) {
              addMessage(e.message);
              api("GET", "/api/v1/conversations/" + contact + "/messages?limit=1").catch(() => {});
            } else if (e.type === "messageQueued" && e.message.contactID === contact) addMessage(e.message);
            else if (e.type === "messageStatus") setStatus(e.id, e.status, e.path);
          });
        } else if (page === "chats") {
          listen((e) => { if (["messageArrived", "contactRequest", "contactsChanged"].includes(e.type)) location.reload(); });
        } else if (page === "contacts") {
          $("add").addEventListener("submit", async (e) => {
            e.preventDefault();
            try {
              const c = await api("POST", "/api/v1/contacts", { invite: $("code").value, name: $("name").value || null });
              showError("");
              $("added").hidden = false;
              $("added").textContent = "Added " + c.name + ". Compare this fingerprint with them: " + c.fingerprint;
              $("code").value = ""; $("name").value = "";
            } catch (err) { showError(err.message); }
          });
          for (const b of document.querySelectorAll("button[data-act]")) {
            b.addEventListener("click", async () => {
              try { await api("POST", "/api/v1/contacts/" + b.dataset.contact + "/" + b.dataset.act); location.reload(); }
              catch (err) { showError(err.message); }
            });
          }
          listen((e) => { if (e.type === "contactRequest") location.reload(); });
        } else if (page === "stick") {
          $("import").addEventListener("submit", async (e) => {
            e.preventDefault();
            const bar = $("upload");
            for (const f of $("files").files) {
              bar.hidden = false; bar.value = 0;
              const li = document.createElement("li");
              try {
                const r = await upload("/api/v1/stick/import", f, (p) => bar.value = p);
                const i = r.imported;
                li.textContent = f.name + ": " + i.imported + " new, " + i.delivered + " for you, " + i.carried +
                  " carried, " + i.duplicates + " known, " + i.rejected + " rejected" +
                  (r.problems.length ? " (" + r.problems.join("; ") + ")" : "");
              } catch (err) { li.textContent = f.name + ": " + err.message; li.className = "error"; }
              $("results").appendChild(li);
            }
            bar.hidden = true; $("files").value = "";
          });
        } else if (page === "network") {
          async function render() {
            const n = await api("GET", "/api/v1/network");
            const rows = (list, cols) => list.length ? "<table>" + list.map((x) => "<tr>" + cols.map((c) => "<td>" + esc(String(c(x) ?? "")) + "</td>").join("") + "</tr>").join("") + "</table>" : "<p>None.</p>";
            $("network").innerHTML =
              "<p>" + (n.running ? "The node is running on " + esc(n.listen || "") + "." : "No node is running on this profile: start one with 'mule run'.") + "</p>" +
              "<p>mDNS: " + esc(n.mdns || "off") + " · DHT: " + esc(n.dht || "off") + "</p>" +
              "<h2>Links</h2>" + rows(n.links, [(l) => l.address, (l) => l.direction, (l) => l.visibleAs, (l) => l.bundlesSent + " sent / " + l.bundlesReceived + " received"]) +
              "<h2>Nearby people</h2>" + rows(n.nearby, [(p) => p.name, (p) => p.fingerprint, (p) => p.address]) +
              "<h2>Relays</h2>" + rows(n.relays.map((r) => ({ r })), [(x) => x.r]);
          }
          render();
          listen((e) => { if (["linkUp", "linkDown", "presence"].includes(e.type)) setTimeout(render, 1200); });
          // Counters and "last seen" move without events: a fresh look every 5 s while the page is shown.
          setInterval(() => { if (!document.hidden) render(); }, 5000);
        }
        """#
}
