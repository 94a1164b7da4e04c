/*! Huzhou RAG chat widget. Add one tag to any page:
 *
 *   <script src="https://HOST/widget.js" data-api="https://HOST" async></script>
 *
 * Optional attributes: data-title, data-lang (zh | en), data-accent (a CSS colour), data-position (right | left),
 * data-api-key, data-placeholder, data-open. Elements with data-rag-ask="question" ask it when clicked, and
 * window.HuzhouRAG has open(), close(), ask(question) and clear().
 *
 * Everything lives in a Shadow DOM, so the page's CSS cannot reach in and ours cannot leak out. The DOM is built
 * with createElement and text nodes only: no text from an answer or a passage is ever parsed as HTML.
 */
(() => {
  "use strict";

  // An async script still has currentScript while it runs; the search is for loaders that inject it oddly.
  const script =
    document.currentScript ||
    [...document.querySelectorAll("script[src]")].reverse().find((s) => /\/widget\.js(?:[?#]|$)/.test(s.src));
  if (!script || window.HuzhouRAG) return; // loaded twice: the first copy stays in charge

  const opts = script.dataset;
  // Without data-api the API is where the script came from (under the same path prefix, behind a proxy).
  const api = opts.api ? new URL(opts.api.replace(/\/*$/, "/"), location.href) : new URL(".", script.src);
  const STORE = `huzhou-rag:${api.href}`;
  const MAX_HISTORY = 20; // messages sent with a follow-up: the server's default RAG_MAX_HISTORY_MESSAGES
  const MAX_STORED = 60;
  const MAX_QUESTION = 2000;

  const STRINGS = {
    zh: {
      title: "湖州新闻问答",
      open: "打开问答",
      close: "关闭问答",
      clear: "新对话",
      placeholder: "请输入关于湖州发展的问题…",
      input: "你的问题",
      send: "发送",
      stop: "停止",
      greeting: "你好！我根据湖州的新闻报道回答问题，每个数字都注明出处。",
      searching: "正在查找资料…",
      stopped: "已停止回答。",
      interrupted: "回答中断了。",
      notFound: "资料中未找到",
      sources: "来源",
      source: (n) => `来源 ${n}`,
      warning: "未核实：所引资料中没有这个数字",
      warnings: (n) => `⚠ ${n} 处数字未能在所引资料中核实，请谨慎使用。`,
      replaced: "AI 生成的回答未通过核实，以下内容直接摘自资料。",
      network: "无法连接问答服务，请检查网络后重试。",
      rateLimited: (s) => (s ? `请求太频繁了，请 ${s} 秒后重试。` : "请求太频繁了，请稍后重试。"),
      failed: "出错了：",
      retry: "重试",
      back: "返回对话",
      passage: (n) => `引用原文 [${n}]`,
      unknownPub: "出处不详",
      unknownDate: "日期不详",
      untitled: "（无标题）",
      footer: "回答摘自新闻报道，数字已与原文核对",
    },
    en: {
      title: "Ask about Huzhou",
      open: "Open chat",
      close: "Close chat",
      clear: "New chat",
      placeholder: "Ask about Huzhou's development…",
      input: "Your question",
      send: "Send",
      stop: "Stop",
      greeting: "Hello! I answer from news reports about Huzhou, and cite the source of every figure.",
      searching: "Searching the articles…",
      stopped: "Stopped.",
      interrupted: "The answer broke off.",
      notFound: "Not in the articles",
      sources: "Sources",
      source: (n) => `Source ${n}`,
      warning: "Unverified: this figure is not in the cited passages",
      warnings: (n) => `⚠ ${n} figure${n > 1 ? "s" : ""} could not be verified against the cited passages.`,
      replaced: "The AI's answer failed verification; this one is quoted from the sources.",
      network: "Cannot reach the service. Check your connection and retry.",
      rateLimited: (s) => (s ? `Too many requests: retry in ${s} s.` : "Too many requests: retry shortly."),
      failed: "Something went wrong: ",
      retry: "Retry",
      back: "Back to the chat",
      passage: (n) => `Cited passage [${n}]`,
      unknownPub: "Publication unknown",
      unknownDate: "date unknown",
      untitled: "(untitled)",
      footer: "Answers quote news reports; figures are checked against them",
    },
  };
  const T = STRINGS[opts.lang === "en" ? "en" : "zh"];

  const STYLE = `
:host{all:initial!important;position:fixed!important;top:0!important;left:0!important;width:0!important;
  height:0!important;z-index:2147483000!important;display:block!important}
.root{--accent:#0b63c5;-webkit-tap-highlight-color:transparent;color:#1f2328;text-align:left;
  font:14px/1.55 system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",
  "Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
button{font:inherit;color:inherit;cursor:pointer;margin:0}
button:focus-visible,textarea:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.bubble{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;border:0;padding:0;
  background:var(--accent);color:#fff;box-shadow:0 4px 16px rgba(0,0,0,.28);display:grid;place-items:center}
.bubble:hover{filter:brightness(1.1)}
svg{width:26px;height:26px;fill:currentColor}
.left .bubble{right:auto;left:20px}
.panel{position:fixed;bottom:88px;right:20px;width:min(400px,calc(100vw - 40px));
  height:min(640px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;border-radius:14px;
  border:1px solid #d0d7de;box-shadow:0 12px 40px rgba(0,0,0,.22);overflow:hidden}
.left .panel{right:auto;left:20px}
.head{display:flex;align-items:center;gap:4px;padding:10px 8px 10px 16px;background:var(--accent);color:#fff}
h2{flex:1;margin:0;font-size:16px;font-weight:600;line-height:1.3}
.icon{background:none;border:0;border-radius:6px;padding:4px 8px;min-width:32px;height:32px;color:inherit}
.icon:hover{background:rgba(255,255,255,.18)}
.head :focus-visible{outline-color:#fff}
.close{font-size:22px;line-height:1}
.body{position:relative;flex:1;min-height:0;display:flex;flex-direction:column}
.log{position:relative;flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;
  background:#f6f8fa}
.msg{max-width:92%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.user{align-self:flex-end;background:var(--accent);color:#fff;border-bottom-right-radius:4px}
.bot{align-self:flex-start;background:#fff;border:1px solid #d8dee4;border-bottom-left-radius:4px}
.greeting{color:#57606a}
.pending .text{color:#57606a}
.pending .text::after{content:"";display:inline-block;width:1.2em;animation:dots 1.2s steps(4) infinite}
@keyframes dots{0%{content:""}25%{content:"."}50%{content:".."}75%{content:"..."}}
.info{background:#eef5ff;border-color:#b6d4fe;color:#24405f}
.tag{display:block;font-size:12px;font-weight:600;color:#0550ae;margin-bottom:2px}
.cite{border:0;background:none;color:var(--accent);font-weight:700;font-size:.8em;padding:0 1px;
  vertical-align:super;line-height:1;border-radius:3px}
.cite:hover{text-decoration:underline}
.warn{background:#fff4d6;border-bottom:2px dotted #bf8700;border-radius:2px}
.warn span{color:#9a6700;font-size:.85em;margin-left:1px}
.note{margin-top:6px;font-size:12.5px;color:#57606a;white-space:normal}
.caution{color:#7d4e00}
.sources{margin-top:8px;padding-top:6px;border-top:1px solid #eaeef2;font-size:12.5px;white-space:normal}
.sources ul{margin:0;padding:0;list-style:none}
.sources li{margin:0;padding:0}
.sources b{display:block;font-size:12px;color:#57606a;font-weight:600}
.src{border:0;background:none;text-align:left;padding:2px 0;color:#0550ae;width:100%}
.src:hover .t{text-decoration:underline}
.src .m{color:#57606a}
.alert{margin-top:8px;padding:8px 10px;border-radius:8px;background:#fff1f0;border:1px solid #ffc9c4;
  color:#9b1c1c;white-space:normal;display:flex;gap:8px;align-items:center;justify-content:space-between}
.bare{padding:0;border:0;background:none}
.bare .alert,.bare .note{margin-top:0}
.retry{border:1px solid #d0a6a6;background:#fff;border-radius:6px;padding:2px 10px;color:#9b1c1c;flex:none}
.composer{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid #d0d7de;background:#fff}
textarea{flex:1;resize:none;border:1px solid #d0d7de;border-radius:10px;padding:8px 10px;font:inherit;
  color:inherit;background:#fff;height:40px;max-height:120px;margin:0}
.send{border:0;border-radius:10px;background:var(--accent);color:#fff;padding:0 16px;height:40px;font-weight:600}
.send.stop{background:#57606a}
.foot{margin:0;padding:0 12px 8px;font-size:11px;color:#6e7781;background:#fff;text-align:center}
.passage{position:absolute;inset:0;background:#fff;overflow-y:auto;padding:12px 16px 16px}
.back{border:0;background:none;color:var(--accent);padding:4px 0;font-weight:600}
.plabel{margin:10px 0 2px;font-size:12px;color:#57606a}
h3{margin:0 0 4px;font-size:16px;line-height:1.4}
.meta{margin:0 0 10px;font-size:12.5px;color:#57606a}
blockquote{margin:0;padding:10px 12px;background:#f6f8fa;border-left:3px solid var(--accent);
  white-space:pre-wrap;overflow-wrap:anywhere}
mark{background:#ffe58f;color:inherit;padding:0 1px;border-radius:2px}
@media (max-width:600px){.panel{inset:0;width:100%;height:100%;border-radius:0;border:0}.open .bubble{display:none}}
@media (prefers-reduced-motion:reduce){.pending .text::after{animation:none;content:"..."}}`;

  const CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";
  const CROSS = "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z";

  // --- DOM helpers: text only, never markup ---------------------------------------------------------------------

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    node.append(...children.filter((c) => c != null && c !== false)); // strings become text nodes
    return node;
  }

  function icon(path) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    svg.append(p);
    return svg;
  }

  // --- figures: which numbers of a citing sentence to highlight in the passage -------------------------------------

  // A number, not part of a word or a date: "773", "6672.4", "100%"; not "5G", not "5月".
  const FIGURE = /(?<![\d.A-Za-z])\d+(?:\.\d+)?%?(?![\d.]*[A-Za-z月日号时])/g;
  const MARKER = /\[(\d+)\]/g;
  const ENDS = "。！？!?；;\n";

  function figuresOf(sentence) {
    return new Set(sentence.replace(MARKER, " ").match(FIGURE) || []);
  }

  // The sentence a marker at `at` cites: "…773个[1]。" and "…773个。[1]" both cite the sentence before them.
  function citingSentence(text, at) {
    let head = text.slice(0, at).replace(/(?:\s*\[\d+\])+\s*$/, "");
    head = head.replace(/[。！？!?；;]\s*$/, "");
    let from = 0;
    for (const c of ENDS) from = Math.max(from, head.lastIndexOf(c) + 1);
    return head.slice(from);
  }

  function highlighted(text, figures) {
    const nodes = [];
    let pos = 0;
    for (const m of text.matchAll(FIGURE)) {
      if (!figures.has(m[0])) continue;
      nodes.push(text.slice(pos, m.index), h("mark", null, m[0]));
      pos = m.index + m[0].length;
    }
    nodes.push(text.slice(pos));
    return nodes;
  }

  // --- state ---------------------------------------------------------------------------------------------------------

  let messages = [];
  let isOpen = false;
  let controller = null; // the answer in flight
  let opener = null; // what opened the passage view, to give the focus back
  const nodes = new WeakMap();
  let sourceLists = 0; // ids for the sources lists' labels
  let following = true; // the log scrolls along with the latest answer

  function load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
      if (!saved || !Array.isArray(saved.messages)) return false;
      messages = saved.messages.filter((m) => m && (m.role === "user" || m.role === "assistant"));
      for (const m of messages) {
        m.content = String(m.content || "");
        if (m.status === "pending" || m.status === "streaming") m.status = "stopped"; // reloaded mid-answer
      }
      return Boolean(saved.open);
    } catch {
      return false; // storage disabled or corrupt: start afresh
    }
  }

  function save() {
    try {
      sessionStorage.setItem(STORE, JSON.stringify({ open: isOpen, messages: messages.slice(-MAX_STORED) }));
    } catch {
      // storage full or disabled: the conversation just does not survive a reload
    }
  }

  // Earlier turns for a follow-up question, markers stripped; failed answers are left out.
  function history(upTo) {
    return messages
      .slice(0, upTo)
      .filter((m) => m.content && !(m.role === "assistant" && m.status === "error"))
      .map((m) => ({ role: m.role, content: m.content.replace(MARKER, "").slice(0, MAX_QUESTION) }))
      .slice(-MAX_HISTORY);
  }

  // --- the UI --------------------------------------------------------------------------------------------------------

  const host = document.createElement("huzhou-rag-widget");
  const shadow = host.attachShadow({ mode: "open" });
  try {
    const sheet = new CSSStyleSheet(); // constructed: allowed by pages whose CSP forbids inline <style>
    sheet.replaceSync(STYLE);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(h("style", null, STYLE));
  }

  const bubble = h("button", {
    type: "button",
    class: "bubble",
    "aria-expanded": "false",
    "aria-controls": "hz-panel",
    "aria-label": T.open,
    title: T.open,
    onclick: () => setOpen(!isOpen),
  });
  const input = h("textarea", {
    rows: "1",
    maxlength: String(MAX_QUESTION),
    "aria-label": T.input,
    placeholder: opts.placeholder || T.placeholder,
    enterkeyhint: "send",
  });
  const sendButton = h("button", { type: "submit", class: "send" }, T.send);
  const form = h("form", { class: "composer", onsubmit: submit }, input, sendButton);
  const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": opts.title || T.title });
  const backButton = h("button", { type: "button", class: "back", onclick: () => closePassage(true) }, `← ${T.back}`);
  const passageLabel = h("p", { class: "plabel" });
  const passageTitle = h("h3", { id: "hz-passage-title" });
  const passageMeta = h("p", { class: "meta" });
  const passageText = h("blockquote");
  const passage = h(
    "section",
    { class: "passage", "aria-labelledby": "hz-passage-title", hidden: true },
    backButton,
    passageLabel,
    passageTitle,
    passageMeta,
    passageText,
  );
  const panel = h(
    "section",
    { id: "hz-panel", class: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "hz-title" },
    h(
      "div",
      { class: "head" },
      h("h2", { id: "hz-title" }, opts.title || T.title),
      h("button", { type: "button", class: "icon clear", title: T.clear, onclick: clear }, T.clear),
      h(
        "button",
        { type: "button", class: "icon close", "aria-label": T.close, title: T.close, onclick: () => setOpen(false) },
        "×",
      ),
    ),
    h("div", { class: "body" }, log, passage),
    form,
    h("p", { class: "foot" }, T.footer),
  );
  const side = opts.position === "left" ? "left" : "right";
  const root = h("div", { class: `root ${side}`, lang: T === STRINGS.en ? "en" : "zh-CN" }, panel, bubble);
  if (opts.accent && CSS.supports("color", opts.accent)) root.style.setProperty("--accent", opts.accent);
  shadow.append(root);

  for (const kind of ["wheel", "touchmove"]) log.addEventListener(kind, () => (following = false), { passive: true });
  root.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen) return;
    event.stopPropagation();
    if (!passage.hidden) closePassage(true);
    else setOpen(false);
  });
  input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line; an IME composing Chinese uses Enter to confirm its candidates.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 120)}px`;
  });

  function setOpen(open, focus = true) {
    isOpen = open;
    panel.hidden = !open;
    root.classList.toggle("open", open);
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", open ? T.close : T.open);
    bubble.title = open ? T.close : T.open;
    bubble.replaceChildren(icon(open ? CROSS : CHAT));
    if (!open) {
      controller?.abort();
      closePassage(false);
    }
    save();
    if (open) scrollToLatest();
    if (focus) (open ? input : bubble).focus();
  }

  function clear() {
    controller?.abort();
    messages = [];
    save();
    closePassage(false);
    renderAll();
    input.focus();
  }

  function submit(event) {
    event.preventDefault();
    if (controller) {
      controller.abort(); // the button is "stop" while an answer streams
      return;
    }
    const question = input.value.trim();
    if (!question) return;
    input.value = "";
    input.style.height = "";
    ask(question);
  }

  function ask(question) {
    controller?.abort();
    const upTo = messages.length;
    messages.push({ role: "user", content: question });
    const msg = { role: "assistant", content: "", citations: [], status: "pending" };
    messages.push(msg);
    renderAll();
    stream(msg, question, history(upTo));
  }

  function retry(msg) {
    const at = messages.indexOf(msg);
    const question = messages[at - 1]?.content;
    if (at < 1 || !question || controller) return;
    Object.assign(msg, { content: "", citations: [], unsupported: [], status: "pending", error: null });
    update(msg);
    input.focus();
    stream(msg, question, history(at - 1));
  }

  function busy(on) {
    log.setAttribute("aria-busy", String(on));
    sendButton.classList.toggle("stop", on);
    sendButton.textContent = on ? T.stop : T.send;
    sendButton.setAttribute("aria-label", on ? T.stop : T.send);
  }

  // --- talking to the API ----------------------------------------------------------------------------------------

  async function* events(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
    }
  }

  async function failure(response) {
    let message = "";
    try {
      message = (await response.json()).error.message;
    } catch {
      // not our JSON error: the status says enough
    }
    const error = new Error(message || `HTTP ${response.status}`);
    error.status = response.status;
    error.retryAfter = Number.parseInt(response.headers.get("Retry-After") || "", 10) || null;
    return error;
  }

  function finish(msg, answer) {
    msg.content = answer.answer;
    msg.citations = answer.citations || [];
    msg.answerable = answer.answerable;
    // The streamed draft failed verification: the done event's answer replaces it.
    msg.replaced = answer.llm_draft != null;
    const unsupported = answer.verification?.unsupported_figures || [];
    msg.unsupported = unsupported.map((f) => ({ figure: f.figure, start: f.start }));
    msg.status = "done";
  }

  async function stream(msg, question, previous) {
    const own = new AbortController();
    controller = own;
    busy(true);
    try {
      const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
      if (opts.apiKey) headers.Authorization = `Bearer ${opts.apiKey}`;
      const response = await fetch(new URL("api/ask", api), {
        method: "POST",
        headers,
        body: JSON.stringify({ question, history: previous, stream: true }),
        signal: own.signal,
        credentials: "omit",
      });
      if (!response.ok) throw await failure(response);
      for await (const { event, data } of events(response.body)) {
        if (event === "passages") {
          // Until `done` brings the citations, [n] points at the nth passage.
          msg.citations = data.passages.map((p) => ({ ...p, n: p.rank }));
        } else if (event === "delta") {
          msg.content += data.text;
          msg.status = "streaming";
        } else if (event === "done") {
          finish(msg, data);
        } else if (event === "error") {
          if (data.answer) finish(msg, data.answer);
          msg.status = "error";
          msg.error = { message: T.failed + data.message };
        }
        update(msg);
      }
      if (msg.status === "pending" || msg.status === "streaming") {
        msg.status = "error";
        msg.error = { message: T.interrupted };
      }
    } catch (error) {
      if (own.signal.aborted) msg.status = "stopped";
      else {
        msg.status = "error";
        if (error.status === 429) msg.error = { message: T.rateLimited(error.retryAfter) };
        else if (error.status) msg.error = { message: T.failed + error.message };
        else msg.error = { message: T.network }; // fetch rejects with a TypeError: offline, refused, or CORS
      }
    } finally {
      if (controller === own) {
        controller = null;
        busy(false);
      }
      update(msg);
      save();
    }
  }

  // --- rendering -----------------------------------------------------------------------------------------------------

  function renderAll() {
    const children = [h("div", { class: "msg bot greeting" }, T.greeting)];
    for (const msg of messages) {
      const node = render(msg);
      nodes.set(msg, node);
      children.push(node);
    }
    log.replaceChildren(...children);
    following = true;
    scrollToLatest();
  }

  function update(msg) {
    const old = nodes.get(msg);
    if (!old || !old.isConnected) return;
    const node = render(msg);
    nodes.set(msg, node);
    old.replaceWith(node);
    scrollToLatest();
  }

  // Follow the answer as it grows, but only until its question reaches the top: a long answer is read from its
  // start. A visitor who scrolls takes over until the next question.
  function scrollToLatest() {
    const question = [...log.querySelectorAll(".user")].pop();
    if (!following) return;
    const bottom = log.scrollHeight - log.clientHeight;
    log.scrollTop = question ? Math.min(bottom, question.offsetTop - 10) : bottom;
  }

  function render(msg) {
    if (msg.role === "user") return h("div", { class: "msg user" }, msg.content);
    const info = msg.status === "done" && msg.answerable === false;
    const pending = msg.status === "pending";
    const text = h("div", { class: "text" });
    if (pending) text.textContent = T.searching;
    else answerText(text, msg);
    const warned = msg.status === "done" ? text.querySelectorAll(".warn").length : 0;
    // A refusal cites what came closest ("related, not an answer"): its sources open like an answer's.
    const cited = msg.status === "done" ? sources(msg) : null;
    const alert =
      msg.status === "error" &&
      h(
        "div",
        { class: "alert", role: "alert" },
        h("span", null, msg.error?.message || T.interrupted),
        h("button", { type: "button", class: "retry", onclick: () => retry(msg) }, T.retry),
      );
    const empty = !pending && !msg.content;
    const kind = info ? " info" : pending ? " pending" : empty && alert ? " bare" : "";
    return h(
      "div",
      { class: `msg bot${kind}`, "aria-busy": String(pending || msg.status === "streaming") },
      info && h("span", { class: "tag" }, `ℹ ${T.notFound}`),
      !empty && text,
      warned > 0 && h("p", { class: "note caution" }, T.warnings(warned)),
      msg.status === "done" && msg.replaced && h("p", { class: "note replaced" }, T.replaced),
      msg.status === "stopped" && h("p", { class: "note" }, T.stopped),
      cited,
      alert,
    );
  }

  // The answer's text with each [n] a button to its passage and each unverified figure flagged.
  function answerText(box, msg) {
    const text = msg.content;
    const cuts = [];
    for (const m of text.matchAll(MARKER)) cuts.push({ start: m.index, end: m.index + m[0].length, n: Number(m[1]) });
    for (const f of msg.unsupported || []) {
      const start = text.substr(f.start, f.figure.length) === f.figure ? f.start : text.indexOf(f.figure);
      if (start >= 0) cuts.push({ start, end: start + f.figure.length });
    }
    cuts.sort((a, b) => a.start - b.start);
    const parts = [];
    let pos = 0;
    for (const cut of cuts) {
      if (cut.start < pos) continue;
      const piece = text.slice(cut.start, cut.end);
      const citation = cut.n && msg.citations?.find((c) => c.n === cut.n);
      parts.push(text.slice(pos, cut.start));
      if (!cut.n) {
        const sign = h("span", { role: "img", "aria-label": T.warning }, "⚠");
        parts.push(h("span", { class: "warn", title: T.warning }, piece, sign));
      } else if (citation) {
        const figures = figuresOf(citingSentence(text, cut.start));
        const props = { type: "button", class: "cite", "aria-label": T.source(cut.n), title: citation.title };
        const button = h("button", props, piece);
        button.addEventListener("click", () => openPassage(citation, figures, button));
        parts.push(button);
      } else {
        parts.push(piece);
      }
      pos = cut.end;
    }
    parts.push(text.slice(pos));
    box.replaceChildren(...parts);
  }

  function sources(msg) {
    if (!msg.citations?.length) return null;
    const items = msg.citations.map((c) => {
      const at = msg.content.indexOf(`[${c.n}]`);
      const figures = at >= 0 ? figuresOf(citingSentence(msg.content, at)) : new Set();
      const meta = [c.publication, c.date].filter(Boolean).join(" · ");
      const button = h(
        "button",
        { type: "button", class: "src" },
        `[${c.n}] `,
        h("span", { class: "t" }, c.title || T.untitled),
        meta && h("span", { class: "m" }, ` · ${meta}`),
      );
      button.addEventListener("click", () => openPassage(c, figures, button));
      return h("li", null, button);
    });
    return h("div", { class: "sources" }, h("b", { id: `hz-src-${++sourceLists}` }, T.sources),
      h("ul", { "aria-labelledby": `hz-src-${sourceLists}` }, ...items));
  }

  function openPassage(citation, figures, from) {
    opener = from;
    passageLabel.textContent = T.passage(citation.n);
    passageTitle.textContent = citation.title || T.untitled;
    const meta = [citation.publication || T.unknownPub, citation.date || T.unknownDate, citation.source_file];
    passageMeta.textContent = meta.filter(Boolean).join(" · ");
    passageText.replaceChildren(...highlighted(citation.text || "", figures));
    passage.hidden = false;
    passage.scrollTop = 0;
    log.inert = true;
    form.hidden = true;
    backButton.focus();
  }

  function closePassage(focus) {
    if (passage.hidden) return;
    passage.hidden = true;
    log.inert = false;
    form.hidden = false;
    if (focus) (opener?.isConnected ? opener : input).focus();
    opener = null;
  }

  // --- start ---------------------------------------------------------------------------------------------------------

  const wasOpen = load();
  renderAll();
  busy(false);
  setOpen(wasOpen || (opts.open != null && opts.open !== "false"), false);

  // Any element of the page with data-rag-ask="question" asks it: the demo page's example questions.
  document.addEventListener("click", (event) => {
    const asker = event.target instanceof Element && event.target.closest("[data-rag-ask]");
    if (!asker) return;
    event.preventDefault();
    publicApi.ask(asker.getAttribute("data-rag-ask"));
  });

  const publicApi = Object.freeze({
    open: () => setOpen(true),
    close: () => setOpen(false),
    ask: (question) => {
      if (!question || !String(question).trim()) return;
      if (!isOpen) setOpen(true);
      ask(String(question).trim().slice(0, MAX_QUESTION));
    },
    clear,
  });
  window.HuzhouRAG = publicApi;

  const attach = () => document.body.append(host);
  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
