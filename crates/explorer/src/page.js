// The viewer of `weft explore`: a virtual function list with search, and the selected function's wasm and machine
// code side by side, each machine instruction tied to the wasm instruction it came from. The data are JSON blocks
// in the page: `index` lists the functions, `f<k>` holds the k-th function's listing and is parsed when shown.
(function () {
  'use strict';
  var ROW = 20; // a list row's height in pixels (.fn in the style)
  var LINE = 18; // a code line's height in pixels (.code in the style)
  var COLOURS = 8; // .c0 … .c7
  var index = JSON.parse(document.getElementById('index').textContent);
  var funcs = index.functions; // [function index, name or null, machine code bytes, wasm body bytes]
  var byIndex = new Map();
  funcs.forEach(function (f, k) { byIndex.set(f[0], k); });
  var lowerLabels = null; // built on the first search
  var shown = funcs.map(function (_, k) { return k; });
  var selected = -1;
  var list = document.getElementById('list');
  var spacer = document.getElementById('spacer');
  var rows = document.getElementById('rows');
  var search = document.getElementById('search');
  var wasmPane = document.getElementById('wasm');
  var asmPane = document.getElementById('asm');
  var hovered = null;
  var highlighted = null;
  var currentBody = 0; // the shown function's body offset in the module

  function label(k) {
    var f = funcs[k];
    return f[1] !== null ? f[1] : 'function[' + f[0] + ']';
  }

  function escapeHtml(s) {
    return s.replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // The page stores wasm text indented by one space per level; it is shown with two.
  function indent(line) {
    return line.replace(/^ +/, function (spaces) { return spaces + spaces; });
  }

  function hex(n, width) {
    var s = n.toString(16);
    while (s.length < width) s = '0' + s;
    return s;
  }

  document.getElementById('module').textContent = index.module !== null ? index.module : '(unnamed module)';
  document.getElementById('summary').textContent =
    funcs.length + ' functions, ' + index.arch + ', compiled by Weft';
  document.getElementById('asm-head').textContent = 'machine code (' + index.arch + ')';

  // The function list: only the rows in view (and a few either side) exist.
  function renderList() {
    var first = Math.max(0, Math.floor(list.scrollTop / ROW) - 10);
    var last = Math.min(shown.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW) + 10);
    var html = '';
    for (var i = first; i < last; i++) {
      var k = shown[i];
      html += '<div class="fn' + (k === selected ? ' sel' : '') + '" data-k="' + k + '"><span class="ix">' +
        funcs[k][0] + '</span>' + escapeHtml(label(k)) + '</div>';
    }
    rows.style.top = first * ROW + 'px';
    rows.innerHTML = html;
  }

  function setShown(ks) {
    shown = ks;
    spacer.style.height = shown.length * ROW + 'px';
    document.getElementById('count').textContent =
      shown.length === funcs.length ? funcs.length + ' functions' : shown.length + ' of ' + funcs.length + ' functions';
    list.scrollTop = 0;
    renderList();
  }

  function filter() {
    var q = search.value.trim().toLowerCase();
    if (q === '') {
      setShown(funcs.map(function (_, k) { return k; }));
      return;
    }
    if (lowerLabels === null) lowerLabels = funcs.map(function (_, k) { return label(k).toLowerCase(); });
    var ks = [];
    for (var k = 0; k < funcs.length; k++) {
      if (lowerLabels[k].indexOf(q) >= 0 || String(funcs[k][0]) === q) ks.push(k);
    }
    setShown(ks);
  }

  var filterTimer = 0;
  search.addEventListener('input', function () {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(filter, funcs.length > 20000 ? 150 : 0);
  });
  search.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && shown.length > 0) select(shown[0]);
  });
  list.addEventListener('scroll', renderList);
  window.addEventListener('resize', renderList);
  rows.addEventListener('click', function (e) {
    var row = e.target.closest('.fn');
    if (row) select(Number(row.dataset.k));
  });

  // The selected function's listing.
  function select(k) {
    if (k < 0 || k >= funcs.length) return;
    selected = k;
    var hash = '#f=' + funcs[k][0];
    if (location.hash !== hash && location.hash.indexOf(hash + '&') !== 0) history.replaceState(null, '', hash);
    renderList();
    renderFunction(k);
  }

  // The shown function: its data and, for each wasm offset with machine code, its colour and the lines (indexes in
  // each pane) that have it. The panes render only the lines in view: a function can have 100,000 lines.
  var fn = null;

  function renderFunction(k) {
    var f = funcs[k];
    var data = JSON.parse(document.getElementById('f' + k).textContent);
    document.getElementById('title').textContent = 'function ' + f[0] + ': ' + label(k) + ' (' + f[3] +
      ' bytes of wasm at 0x' + data.b.toString(16) + ', ' + f[2] + ' bytes of machine code)';
    var asmStarts = [];
    var offset = 0;
    data.al.forEach(function (len) { asmStarts.push(offset); offset += len; });
    fn = {
      data: data,
      wasmLines: data.w === '' ? [] : data.w.split('\n'),
      asmLines: data.a === '' ? [] : data.a.split('\n'),
      asmStarts: asmStarts,
      code: atob(data.c),
      colour: new Map(),
      groups: new Map(),
    };
    // Each wasm offset that has machine code gets a colour, the same on both sides.
    data.aw.forEach(function (o) {
      if (o >= 0 && !fn.colour.has(o)) fn.colour.set(o, fn.colour.size % COLOURS);
    });
    group(data.wo, 'wasm');
    group(data.aw, 'asm');
    currentBody = data.b;
    hovered = null;
    highlighted = null;
    [wasmPane, asmPane].forEach(function (pane) {
      var lines = pane === wasmPane ? fn.wasmLines.length : fn.asmLines.length;
      pane.firstElementChild.style.height = lines * LINE + 'px';
      pane.scrollTop = 0;
      pane.scrollLeft = 0;
    });
    renderPanes();
  }

  function group(offsets, side) {
    offsets.forEach(function (o, i) {
      if (!(o >= 0)) return;
      var g = fn.groups.get(o);
      if (!g) fn.groups.set(o, g = { wasm: [], asm: [] });
      g[side].push(i);
    });
  }

  // A line's classes: its colour pair, or grey (`nomap`) when `grey` and it has none; highlighted, hovered.
  function lineClass(o, grey) {
    var cls = 'l';
    if (fn.colour.has(o)) cls += ' c' + fn.colour.get(o);
    else if (grey) cls += ' nomap';
    if (o >= 0 && o === highlighted) cls += ' hl';
    if (o >= 0 && o === hovered) cls += ' hv';
    return cls;
  }

  function wasmLine(i) {
    var o = fn.data.wo[i];
    return '<div class="' + lineClass(o, o >= 0) + '" data-o="' + o + '"><span class="o">' +
      (o >= 0 ? hex(fn.data.b + o, 0) : '') + '</span>' + escapeHtml(indent(fn.wasmLines[i])) + '</div>';
  }

  function asmLine(i) {
    var o = fn.data.aw[i];
    var start = fn.asmStarts[i];
    var bytes = '';
    for (var j = 0; j < fn.data.al[i]; j++) bytes += hex(fn.code.charCodeAt(start + j), 2) + ' ';
    var line = fn.asmLines[i];
    var tab = line.indexOf('\t');
    return '<div class="' + lineClass(o, true) + '" data-o="' + o + '"><span class="o">' + hex(start, 0) +
      '</span><span class="b">' + bytes + '</span><span class="m">' + escapeHtml(line.slice(0, tab)) + '</span>' +
      escapeHtml(line.slice(tab + 1)) + '</div>';
  }

  function renderPane(pane) {
    if (fn === null) return;
    var wasm = pane === wasmPane;
    var count = wasm ? fn.wasmLines.length : fn.asmLines.length;
    var rowsEl = pane.firstElementChild.firstElementChild;
    if (count === 0) {
      rowsEl.style.top = '0px';
      rowsEl.innerHTML = '<div class="empty">' + (wasm ? 'no wasm text' : 'no machine code') + '</div>';
      return;
    }
    var first = Math.max(0, Math.floor(pane.scrollTop / LINE) - 20);
    var last = Math.min(count, Math.ceil((pane.scrollTop + pane.clientHeight) / LINE) + 20);
    var html = '';
    for (var i = first; i < last; i++) html += wasm ? wasmLine(i) : asmLine(i);
    rowsEl.style.top = first * LINE + 'px';
    rowsEl.innerHTML = html;
  }

  function renderPanes() {
    renderPane(wasmPane);
    renderPane(asmPane);
  }

  function lineOffset(e) {
    var line = e.target.closest('.l');
    if (!line) return null;
    var o = Number(line.dataset.o);
    return o >= 0 ? o : null;
  }

  // Scrolls `pane` to line `i` unless it is in view.
  function reveal(pane, i) {
    var top = i * LINE;
    if (top < pane.scrollTop || top > pane.scrollTop + pane.clientHeight - LINE) {
      pane.scrollTop = Math.max(0, top - pane.clientHeight / 3);
    }
  }

  // Highlights the wasm instruction at `o` (from the body's start) and its machine code, scrolling each pane but
  // `from` (the one clicked) to show them.
  function highlight(o, from) {
    highlighted = o;
    var g = o === null || fn === null ? undefined : fn.groups.get(o);
    if (g) {
      if (from !== wasmPane && g.wasm.length > 0) reveal(wasmPane, g.wasm[0]);
      if (from !== asmPane && g.asm.length > 0) reveal(asmPane, g.asm[0]);
    }
    renderPanes();
  }

  function hover(o) {
    if (o === hovered) return;
    hovered = o;
    renderPanes();
  }

  [wasmPane, asmPane].forEach(function (pane) {
    pane.addEventListener('scroll', function () { renderPane(pane); });
    pane.addEventListener('mouseover', function (e) { hover(lineOffset(e)); });
    pane.addEventListener('mouseleave', function () { hover(null); });
    pane.addEventListener('click', function (e) { highlight(lineOffset(e), pane); });
  });
  window.addEventListener('resize', renderPanes);

  // `#f=N` shows function N (its index in the module); `#f=N&o=HEX` also highlights the wasm instruction at module
  // offset HEX (as the wasm pane's margin shows it) and its machine code.
  function fromHash() {
    var m = /^#f=(\d+)(?:&o=([0-9a-fA-F]+))?$/.exec(location.hash);
    var k = m ? byIndex.get(Number(m[1])) : undefined;
    if (k !== undefined) {
      if (k !== selected) select(k);
      list.scrollTop = Math.max(0, shown.indexOf(k) * ROW - list.clientHeight / 3);
      if (m[2] !== undefined) highlight(parseInt(m[2], 16) - currentBody);
    } else if (selected < 0 && funcs.length > 0) {
      select(0);
    }
  }

  window.addEventListener('hashchange', fromHash);
  setShown(shown);
  if (funcs.length === 0) {
    document.getElementById('title').textContent = 'this module defines no functions';
  }
  fromHash();
})();
