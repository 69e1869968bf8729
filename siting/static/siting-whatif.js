/* siting what-if: recompute the figures for any set of new sites, in the page, offline.
 * The payload's "whatif" string (siting/maps/whatif.py: deflate + base64) holds today's minutes to the
 * nearest office per demand point and, per candidate site, the points it reaches faster, in 0.1-min
 * steps that never cross the threshold T. For a set of sites: after = min(today, the sites' times);
 * people and offences within T, mean drive time, nationally and per police district — the same
 * figures siting/maps/whatif.py::evaluate (and siting/plans.py) computes in Python.
 * Part of the siting package (MIT). */
(function () {
  "use strict";
  var S = window.sitingMap;
  if (!S) return;
  var U = S._, D = U.D, I = U.I, esc = U.esc, fill = U.fill, map = S.map;
  if (!D.whatif) { S.ready = Promise.resolve(false); return; }
  var started = performance.now();

  // --- unpack ---------------------------------------------------------------------------------------
  function inflate(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    if (typeof DecompressionStream === "undefined") return Promise.reject(new Error("no DecompressionStream"));
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
  }
  function varints(u8, n) {  // unsigned LEB128; n values, or all (n undefined)
    var out = n === undefined ? [] : new Int32Array(n), k = 0, v = 0, shift = 0;
    for (var i = 0; i < u8.length && (n === undefined || k < n); i++) {
      var b = u8[i];
      v += (b & 127) * Math.pow(2, shift);
      if (b & 128) { shift += 7; } else { out[k++] = v; v = 0; shift = 0; }
    }
    return out;
  }
  function floats(u8) { return new Float32Array(u8.slice().buffer); }

  var W = null;  // the unpacked data
  function unpack(raw) {
    var hl = raw[0] | (raw[1] << 8) | (raw[2] << 16) | (raw[3] * 16777216);
    var h = JSON.parse(new TextDecoder().decode(raw.subarray(4, 4 + hl)));
    if (h.format !== 1) throw new Error("what-if data of format " + h.format + " (this page reads format 1)");
    var body = raw.subarray(4 + hl);
    function sec(name) { var o = h.sections[name]; return o ? body.subarray(o[0], o[0] + o[1]) : null; }
    var nd = h.n_demand, ns = h.n_sites, BIG = 2147483647;
    var before = varints(sec("before"), nd), bsteps = new Int32Array(nd);
    for (var i = 0; i < nd; i++) bsteps[i] = before[i] === 0 ? BIG : before[i] - 1;
    var count = varints(sec("count"), ns), ptr = new Int32Array(ns + 1);
    for (var j = 0; j < ns; j++) ptr[j + 1] = ptr[j] + count[j];
    var ne = ptr[ns], drow = varints(sec("drow"), ne), dt = varints(sec("dt"), ne);
    var rows = new Int32Array(ne), times = new Int32Array(ne);
    for (j = 0; j < ns; j++) {
      var r = 0;
      for (var e = ptr[j]; e < ptr[j + 1]; e++) {
        r += drow[e];
        rows[e] = r;
        times[e] = bsteps[r] === BIG ? dt[e] - 1 : bsteps[r] - dt[e];
      }
    }
    var runs = varints(sec("kommune")), kommune = new Int32Array(nd), at = 0;
    for (var q = 0; q < runs.length; q += 2) { kommune.fill(runs[q], at, at + runs[q + 1]); at += runs[q + 1]; }
    var weights = new Float64Array(floats(sec("weights")));
    var offences = null;
    if (h.offence_rate) {
      offences = new Float64Array(nd);
      for (i = 0; i < nd; i++) offences[i] = weights[i] * h.offence_rate[kommune[i]];
    } else if (sec("offences")) {
      offences = new Float64Array(floats(sec("offences")));
    }
    var districts = [], dindex = {}, kd = h.kommuner[2].map(function (d) {
      if (!(d in dindex)) { dindex[d] = districts.length; districts.push(d); }
      return dindex[d];
    });
    var district = new Int32Array(nd);
    for (i = 0; i < nd; i++) district[i] = kd[kommune[i]];
    var index = {};
    h.sites.site_id.forEach(function (id, k) { index[id] = k; });
    return {h: h, n: nd, BIG: BIG, before: bsteps, ptr: ptr, rows: rows, times: times, weights: weights, offences: offences,
            district: district, districts: districts, index: index, tq: h.t_steps, quantum: h.quantum,
            after: new Int32Array(nd), nearest: new Int32Array(nd)};
  }

  // --- evaluate ------------------------------------------------------------------------------------
  function positions(ids) {
    var seen = {}, out = [];
    (ids || []).forEach(function (id) {
      var k = W.index[id];
      if (k === undefined) throw new Error("unknown site id " + id);
      if (!seen[k]) { seen[k] = true; out.push(k); }
    });
    return out.sort(function (a, b) { return a - b; });  // ties go to the lower index, as in siting.plans.times
  }
  function evaluate(ids) {
    var js = positions(ids), n = W.n, a = W.after, near = W.nearest, tq = W.tq;
    a.set(W.before);
    near.fill(-1);
    for (var x = 0; x < js.length; x++) {
      var j = js[x];
      for (var e = W.ptr[j]; e < W.ptr[j + 1]; e++) {
        var r = W.rows[e], t = W.times[e];
        if (t < a[r]) { a[r] = t; near[r] = j; }
      }
    }
    var nd = W.districts.length, dp = new Float64Array(nd), dpop = new Float64Array(nd), doff = new Float64Array(nd),
        dtw = new Float64Array(nd), dw = new Float64Array(nd);
    var pin = 0, pop = 0, oin = 0, otot = 0, tw = 0, wf = 0, site = {};
    for (var i = 0; i < n; i++) {
      var w = W.weights[i], d = W.district[i], o = W.offences ? W.offences[i] : 0, ai = a[i];
      pop += w; dpop[d] += w; otot += o;
      if (ai !== W.BIG) { tw += w * ai; wf += w; dtw[d] += w * ai; dw[d] += w; }
      if (ai <= tq) {
        pin += w; dp[d] += w; oin += o; doff[d] += o;
        if (near[i] >= 0 && W.before[i] > tq) {
          var s = site[near[i]] || (site[near[i]] = {people_newly_within_T: 0, offences_newly_within_T: 0});
          s.people_newly_within_T += w; s.offences_newly_within_T += o;
        }
      }
    }
    var q = W.quantum, by = {}, bySite = {};
    W.districts.forEach(function (name, k) {
      by[name] = {people_within_T: dp[k], population: dpop[k], share_within_T: dpop[k] ? dp[k] / dpop[k] : NaN,
                  mean_time: dw[k] ? dtw[k] / dw[k] * q : NaN};
      if (W.offences) by[name].offences_within_T = doff[k];
    });
    js.forEach(function (j) {
      var s = site[j] || {people_newly_within_T: 0, offences_newly_within_T: 0};
      if (!W.offences) delete s.offences_newly_within_T;
      bySite[W.h.sites.site_id[j]] = s;
    });
    var out = {n_sites: js.length, people_within_T: pin, population: pop, share_within_T: pop ? pin / pop : NaN,
               mean_time: wf ? tw / wf * q : NaN, by_district: by, by_site: bySite};
    if (W.offences) { out.offences_within_T = oin; out.share_offences_within_T = otot ? oin / otot : NaN; }
    return out;
  }

  // --- the reader's choice -----------------------------------------------------------------------------
  var chosen = [];       // site ids, in the order chosen
  var base = {};         // today / plan / optimum / decided results
  var swapOut = null;    // a site chosen to be swapped out, waiting for its replacement
  function ids(name) { return (W.h.plans[name] || []).map(function (k) { return W.h.sites.site_id[k]; }); }
  function planIds() {   // the plan's sites in the map's rank order
    var ranked = [];
    U.groups.forEach(function (g) { g.sites.forEach(function (s) { if (s.site_id in W.index) ranked.push(s.site_id); }); });
    var set = {}; ids("plan").forEach(function (id) { set[id] = true; });
    var out = ranked.filter(function (id) { return set[id]; });
    ids("plan").forEach(function (id) { if (out.indexOf(id) < 0) out.push(id); });
    return out;
  }
  function siteInfo(k) {
    var s = W.h.sites;
    return {id: s.site_id[k], name: s.name[k], kommune: s.kommune[k], district: s.politidistrikt[k], lat: s.lat[k], lon: s.lon[k],
            stand_in: !!s.stand_in[k], allowed: !!s.allowed[k]};
  }
  function sameSet(a, b) { return a.length === b.length && JSON.stringify(a.slice().sort()) === JSON.stringify(b.slice().sort()); }
  function has(id) { return chosen.indexOf(id) >= 0; }
  function setChoice(list) {
    var seen = {};
    chosen = list.filter(function (id) { if (seen[id] || !(id in W.index)) return false; seen[id] = true; return true; });
    swapOut = null;
    refresh();
  }
  function toggle(id) {
    if (has(id)) { chosen.splice(chosen.indexOf(id), 1); }
    else {
      if (swapOut && has(swapOut)) chosen.splice(chosen.indexOf(swapOut), 1);
      chosen.push(id);
    }
    swapOut = null;
    refresh();
  }

  // markers: plan sites stay (hollow when left out), added sites appear as green "+" discs
  var added = {};  // id -> marker record
  var planSet = {};
  function syncMarkers(res) {
    var inChoice = {};
    chosen.forEach(function (id) { inChoice[id] = true; });
    U.markers.slice().forEach(function (rec) {
      var s = rec.site;
      if (rec.group.key === "new") {
        var state = inChoice[s.site_id] ? "" : "removed";
        if ((s.state || "") !== state) { s.state = state; rec.marker.setIcon(U.siteIcon(s)); }
      }
    });
    Object.keys(added).forEach(function (id) {
      if (!inChoice[id] || planSet[id]) { U.removeSite(added[id]); delete added[id]; }
    });
    chosen.forEach(function (id) {
      var rec = added[id];
      if (planSet[id]) return;
      var k = W.index[id], info = siteInfo(k), bs = res.by_site[id] || {};
      if (!rec) {
        var s = {site_id: id, lat: info.lat, lon: info.lon, label: "+", kind: "added", stand_in: info.stand_in, name: info.name,
                 kommune: info.kommune, title: info.name + (info.kommune && info.kommune !== info.name ? " (" + info.kommune + ")" : ""),
                 rows: []};
        rec = added[id] = U.addSite(s, addedGroup);
      }
      rec.site.newly = bs.people_newly_within_T;
      rec.site.offences_newly = W.offences ? bs.offences_newly_within_T : undefined;
      rec.site.rows = [[I.k_municipality, info.kommune], [I.district, info.district],
                       [fill(I.list_newly, {n: "", T: U.num(D.T)}).replace(/^\s*/, ""), U.people(bs.people_newly_within_T, 10)]];
    });
    S.declutter();
    U.renderList();
  }
  var addedGroup = {name: I.wi_added, key: "added", layer: L.layerGroup().addTo(map), sites: []};

  // --- the panel: figures against today, the plan and the optimum ----------------------------------------
  var box = document.getElementById("siting-whatif");
  function figures(res) {
    var T = U.num(D.T), off = res.offences_within_T !== undefined;
    var rowsDef = [["", I.wi_choice, null]];
    rowsDef.push(["today", I.wi_vs_today]);
    if (base.plan) rowsDef.push(["plan", I.wi_vs_plan]);
    if (base.optimum) rowsDef.push(["optimum", I.wi_vs_optimum]);
    if (base.decided && !sameSet(ids("decided"), ids("plan"))) rowsDef.push(["decided", I.wi_vs_decided]);
    var head = "<tr><th></th><th>" + esc(fill(I.wi_people, {T: T})) + "</th>" + (off ? "<th>" + esc(fill(I.wi_offences, {T: T})) + "</th>" : "") +
               "<th>" + esc(I.wi_mean_short) + "</th></tr>";
    var body = rowsDef.map(function (r) {
      var cells;
      if (!r[0]) {
        // the plan's uncertainty bands, when the run carries them (metrics.json): beside the plan's own figures
        var bands = D.bands && sameSet(chosen, planIds()) ? D.bands : {};
        var sb = bands.share_within_T_after, mb = bands.mean_time_after;
        cells = ["<b>" + esc(U.people(res.people_within_T, 100)) + "</b><br>" + esc(U.pct(res.share_within_T)) +
                 (sb ? '<br><small class="siting-band">' + esc(U.pct(sb.low) + "–" + U.pct(sb.high)) + "</small>" : "")];
        if (off) cells.push("<b>" + esc(U.people(res.offences_within_T, 10)) + "</b><br>" + esc(U.pct(res.share_offences_within_T)));
        cells.push("<b>" + esc(U.minutes(res.mean_time)) + "</b>" +
                   (mb ? '<br><small class="siting-band">' + esc(U.minutes(mb.low) + "–" + U.minutes(mb.high)) + "</small>" : ""));
      } else {
        var b = base[r[0]];
        cells = [esc(U.signedPeople(res.people_within_T - b.people_within_T, 100))];
        if (off) cells.push(esc(U.signedPeople(res.offences_within_T - b.offences_within_T, 10)));
        cells.push(esc(U.signed(res.mean_time - b.mean_time, 1)));
      }
      return "<tr><th>" + esc(r[1]) + "</th><td>" + cells.join("</td><td>") + "</td></tr>";
    }).join("");
    var dist = Object.keys(res.by_district).sort().map(function (name) {
      var x = res.by_district[name], p = base.plan ? base.plan.by_district[name] : null, t = base.today.by_district[name];
      return "<tr><th>" + esc(name) + "</th><td>" + esc(U.pct(x.share_within_T)) + "</td><td>" + esc(U.signedPeople(x.people_within_T - t.people_within_T, 100)) +
             "</td>" + (p ? "<td>" + esc(U.signedPeople(x.people_within_T - p.people_within_T, 100)) + "</td>" : "") + "<td>" + esc(U.minutes(x.mean_time)) + "</td></tr>";
    }).join("");
    return '<div class="siting-scroll"><table class="siting-wi-table" id="siting-wi-national">' + head + body + "</table></div>" +
           '<details class="siting-wi-districts"><summary>' + esc(I.wi_by_district) + '</summary><div class="siting-scroll"><table class="siting-wi-table">' +
           "<tr><th>" + esc(I.district) + "</th><th>" + esc(fill(I.wi_share, {T: T})) + "</th><th>" + esc(I.wi_vs_today) + "</th>" +
           (base.plan ? "<th>" + esc(I.wi_vs_plan) + "</th>" : "") + "<th>" + esc(I.wi_mean_short) + "</th></tr>" + dist + "</table></div></details>";
  }
  function stateLine() {
    var plan = ids("plan"), inPlan = {}, out = 0, inn = 0;
    plan.forEach(function (id) { inPlan[id] = true; });
    chosen.forEach(function (id) { if (!inPlan[id]) inn++; });
    plan.forEach(function (id) { if (!has(id)) out++; });
    var txt = fill(I.wi_state, {n: chosen.length});
    if (out || inn) txt += " " + fill(I.wi_changed, {out: out, inn: inn});
    else txt += " " + I.wi_is_plan;
    if (swapOut) txt += " " + fill(I.wi_swap_pending, {name: siteInfo(W.index[swapOut]).name});
    return txt;
  }
  var last = null;
  function refresh() {
    var t0 = performance.now();
    last = evaluate(chosen);
    S.lastMs = performance.now() - t0;
    syncMarkers(last);
    if (!box) return;
    document.getElementById("siting-wi-state").textContent = stateLine();
    document.getElementById("siting-wi-figures").innerHTML = figures(last);
    var ex = exportText();
    document.getElementById("siting-wi-yaml").value = ex.yaml;
    Array.prototype.forEach.call(box.querySelectorAll("[data-load]"), function (b) {
      b.classList.toggle("siting-active", sameSet(chosen, loadable(b.getAttribute("data-load"))));
    });
  }
  function loadable(name) { return name === "today" ? [] : name === "plan" ? planIds() : ids(name); }

  // --- export: a scenario that `siting run` evaluates to the same numbers -------------------------------
  function yamlString(s) { return JSON.stringify(String(s)); }  // JSON strings are valid YAML scalars
  function yamlValue(v, indent) {
    if (v === null) return "null";
    if (Array.isArray(v)) return "\n" + v.map(function (x) { return indent + "- " + yamlValue(x, indent + "  "); }).join("\n");
    if (typeof v === "object") {
      return "\n" + Object.keys(v).map(function (k) { return indent + k + ":" + (typeof v[k] === "object" && v[k] !== null ? "" : " ") + yamlValue(v[k], indent + "  "); }).join("\n");
    }
    return typeof v === "string" ? yamlString(v) : String(v);
  }
  function exportText() {
    var sc = W.h.scenario || {}, name = (sc.name || "run") + "-whatif";
    var head = "# " + fill(I.wi_yaml_note, {n: chosen.length}) + "\nname: " + name + "\n";
    Object.keys(sc).forEach(function (k) { if (k !== "name") head += k + ":" + yamlValue(sc[k], "  ") + "\n"; });
    head += "new_offices: " + chosen.length + "\nmodel:\n  type: evaluate\n  threshold_minutes: " + W.h.T + "\nsites:";
    var sites = chosen.map(function (id) {
      var info = siteInfo(W.index[id]);
      return "\n  - " + id + "  # " + (info.name + " (" + info.kommune + ")").replace(/[\r\n]/g, " ");
    }).join("");
    var csv = "site_id,name,kommune,politidistrikt,lat,lon\n" + chosen.map(function (id) {
      var i = siteInfo(W.index[id]);
      return [id, i.name, i.kommune, i.district, i.lat, i.lon].map(function (v) {
        v = String(v);
        return /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
      }).join(",");
    }).join("\n") + "\n";
    return {yaml: head + (chosen.length ? sites : " []") + "\n", csv: csv, name: name};
  }
  function download(text, file, type) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], {type: type}));
    a.download = file;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  // --- candidates: every site a reader may open, shown when zoomed in ---------------------------------
  var candLayer = null, CAND_ZOOM = 8;
  function candidates() {
    if (candLayer) return candLayer;
    var r = L.canvas({pane: "siting-candidates", tolerance: U.phone ? 16 : 4});
    candLayer = L.layerGroup();
    W.h.sites.site_id.forEach(function (id, k) {
      var allowed = W.h.sites.allowed[k];
      var m = L.circleMarker([W.h.sites.lat[k], W.h.sites.lon[k]], {renderer: r, radius: 3.5, weight: 1, color: "#777",
        fillColor: allowed ? "#e8e8e8" : "#888", fillOpacity: 0.85, pane: "siting-candidates"});
      m.bindPopup(function () { return candidatePopup(id); }, {maxWidth: 300, autoPanPaddingTopLeft: [10, U.phone ? 120 : 60]});
      m.addTo(candLayer);
    });
    return candLayer;
  }
  var showCand = true;
  function candVisibility() {
    var want = showCand && (map.getZoom() >= CAND_ZOOM || swapOut);
    var lyr = candidates();
    if (want && !map.hasLayer(lyr)) lyr.addTo(map);
    if (!want && map.hasLayer(lyr)) map.removeLayer(lyr);
  }
  function actionButtons(id) {
    var b = [];
    if (has(id)) {
      b.push('<button type="button" data-act="remove" data-id="' + esc(id) + '">' + esc(I.wi_remove) + "</button>");
      b.push('<button type="button" data-act="swap" data-id="' + esc(id) + '">' + esc(I.wi_swap) + "</button>");
    } else {
      b.push('<button type="button" data-act="add" data-id="' + esc(id) + '">' +
             esc(swapOut ? fill(I.wi_swap_in, {name: siteInfo(W.index[swapOut]).name}) : I.wi_add) + "</button>");
    }
    return '<div class="siting-actions">' + b.join("") + "</div>";
  }
  function candidatePopup(id) {
    var info = siteInfo(W.index[id]), rows = [[I.k_municipality, info.kommune], [I.district, info.district]];
    if (!info.allowed) rows.push([I.wi_note, I.wi_forbidden]);
    if (info.stand_in) rows.push([I.wi_note, I.standin_position]);
    return U.table(info.name, rows, actionButtons(id));
  }
  S.popupExtra = function (s) { return s.site_id && s.site_id in W.index ? actionButtons(s.site_id) : ""; };
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest(".siting-actions button");
    if (!b) return;
    var id = b.getAttribute("data-id"), act = b.getAttribute("data-act");
    map.closePopup();
    if (act === "swap") { swapOut = id; refresh(); candVisibility(); if (U.phone) U.setSheet(false); return; }
    toggle(id);
    candVisibility();
  });

  // --- build the panel block ------------------------------------------------------------------------------
  function buildBox() {
    if (!box) return;
    var buttons = [["plan", I.wi_load_plan]];
    if (W.h.plans.optimum) buttons.push(["optimum", W.h.optimum_label === "plan" ? I.wi_load_optimum_plan : I.wi_load_optimum]);
    if (W.h.plans.decided && !sameSet(ids("decided"), ids("plan"))) buttons.push(["decided", I.wi_load_decided]);
    buttons.push(["today", I.wi_load_today]);
    box.innerHTML = "<h2>" + esc(I.wi_title) + '</h2><p class="siting-note">' + esc(fill(I.wi_help, {T: U.num(D.T)})) + "</p>" +
      '<div class="siting-wi-buttons">' + buttons.map(function (b) {
        return '<button type="button" data-load="' + esc(b[0]) + '">' + esc(b[1]) + "</button>";
      }).join("") + "</div>" +
      '<p id="siting-wi-state" class="siting-wi-state"></p><div id="siting-wi-figures"></div>' +
      '<details class="siting-wi-export"><summary>' + esc(I.wi_export) + '</summary><p class="siting-note">' + esc(I.wi_export_help) + "</p>" +
      '<div class="siting-wi-buttons"><button type="button" data-export="yaml">' + esc(I.wi_yaml) + '</button><button type="button" data-export="csv">' +
      esc(I.wi_csv) + '</button></div><textarea id="siting-wi-yaml" readonly rows="8"></textarea></details>' +
      '<p class="siting-note">' + esc(fill(I.wi_precision, {T: U.num(D.T)})) + "</p>";
    box.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) return;
      if (b.hasAttribute("data-load")) setChoice(loadable(b.getAttribute("data-load")));
      if (b.hasAttribute("data-export")) {
        var ex = exportText(), kind = b.getAttribute("data-export");
        download(kind === "yaml" ? ex.yaml : ex.csv, ex.name + "." + kind, kind === "yaml" ? "application/yaml" : "text/csv");
      }
    });
  }

  S.ready = inflate(D.whatif).then(function (raw) {
    W = unpack(raw);
    ids("plan").forEach(function (id) { planSet[id] = true; });
    base.today = evaluate([]);
    base.plan = evaluate(planIds());
    if (W.h.plans.optimum) base.optimum = evaluate(ids("optimum"));
    if (W.h.plans.decided) base.decided = evaluate(ids("decided"));
    U.groups.push(addedGroup);
    U.control.addOverlay(addedGroup.layer, esc(I.wi_added));
    buildBox();
    chosen = planIds();
    refresh();
    map.on("zoomend", candVisibility);
    candVisibility();
    S.loadMs = performance.now() - started;  // unpacking the data and the first figures (benchmarks/bench_whatif.py)
    return true;
  }, function (err) {
    if (box) box.innerHTML = '<p class="siting-warn">' + esc(I.wi_unavailable) + "</p>";
    if (window.console) console.warn("what-if unavailable: " + err.message);
    return false;
  });

  S.plan = function () { return planIds(); };
  S.optimum = function () { return ids("optimum"); };
  S.decided = function () { return ids("decided"); };
  S.evaluate = function (list) { if (!W) throw new Error("what-if data not ready (await sitingMap.ready)"); return evaluate(list); };
  S.choose = function (list) { setChoice(list); return last; };
  S.chosen = function () { return chosen.slice(); };
  S.exportText = function () { return exportText(); };
  S.candidates = function () { return W ? W.h.sites.site_id.slice() : []; };
})();
