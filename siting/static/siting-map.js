/* siting decision-maker map: builds every layer, the site list and the panel from the JSON payload
 * in #siting-data. All text from the data (site and municipality names, ...) is inserted escaped
 * (esc() or textContent): a name such as "<img src=x onerror=...>" is shown, never run.
 * Site markers never hide one another: at every zoom they are placed in rank order, each at its own
 * position or, when that is taken, at the nearest free spot with a leader line to it.
 * Part of the siting package (MIT); runs on Leaflet 1.9 with the fullscreen and search plugins. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("siting-data").textContent);
  var map = window[D.map];
  var I = D.i18n || {};  // the page's words, from the message catalogue (keys "js.*")
  map.setMinZoom(3);
  map.setMaxZoom(18);
  var phone = window.matchMedia("(max-width: 700px)").matches;
  var hover = window.matchMedia("(hover: hover) and (pointer: fine)").matches;  // no tooltips on touch screens
  var SITE = phone ? 44 : 28;  // marker box (px): the tap target on phones
  var GAP = 2;

  // --- words and numbers (Norwegian: 1 234,5 and 12,3 %) -----------------------------------------
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function fill(text, args) {
    return String(text === undefined ? "" : text).replace(/\{(\w+)\}/g, function (m, k) {
      return args && args[k] !== undefined ? args[k] : m;
    });
  }
  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "\u2013";
    var s = Math.abs(v).toFixed(digits || 0), parts = s.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
    s = parts.join(D.lang === "en" ? "." : ",");
    return (v < 0 && /[1-9]/.test(s) ? "\u2212" : "") + s;
  }
  function signed(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "\u2013";
    var s = num(Math.abs(v), digits);
    return /[1-9]/.test(s) ? (v > 0 ? "+" : "\u2212") + s : s;
  }
  function people(v, step) { step = step || 10; return isFinite(v) ? num(Math.round(v / step) * step, 0) : "\u2013"; }
  function signedPeople(v, step) { step = step || 100; return isFinite(v) ? signed(Math.round(v / step) * step, 0) : "\u2013"; }
  function pct(share, digits) { return isFinite(share) ? num(100 * share, digits === undefined ? 1 : digits) + "\u00a0%" : "\u2013"; }
  function minutes(v, digits) { return isFinite(v) ? num(v, digits === undefined ? 1 : digits) + "\u00a0min" : "\u2013"; }

  function rows(pairs) {
    return pairs.map(function (p) { return "<tr><th>" + esc(p[0]) + "</th><td>" + esc(p[1]) + "</td></tr>"; }).join("");
  }
  function table(title, pairs, extra) {
    return '<div class="siting-tip"><b>' + esc(title) + "</b><table>" + rows(pairs) + "</table>" + (extra || "") + "</div>";
  }

  // quantised, delta-encoded polygons -> GeoJSON MultiPolygon coordinates
  function decode(polys, q) {
    return polys.map(function (rings) {
      return rings.map(function (d) {
        var x = 0, y = 0, out = [];
        for (var i = 0; i < d.length; i += 2) {
          x += d[i]; y += d[i + 1];
          out.push([x * q, y * q]);
        }
        out.push(out[0]);
        return out;
      });
    });
  }

  // --- panes: sites above everything but popups; their leader lines just below them -------------------
  map.createPane("siting-areas").style.zIndex = 410;
  map.createPane("siting-candidates").style.zIndex = 620;  // what-if: the sites a reader may add
  map.createPane("siting-offices").style.zIndex = 625;
  map.createPane("siting-leaders").style.zIndex = 630;
  map.createPane("siting-proposals").style.zIndex = 640;  // above markers (600), below tooltips (650)
  var leaderRenderer = L.svg({pane: "siting-leaders"});

  var control = L.control.layers(null, null, {collapsed: phone, position: "topright"});

  // --- municipalities: one layer, restyled by the mode selector ----------------------------
  var K = D.kommuner, mode = D.modes.length ? D.modes[0].key : null;
  var features = K.geom.map(function (g, i) {
    return {type: "Feature", properties: {name: K.names[i], i: i},
            geometry: {type: "MultiPolygon", coordinates: decode(g, D.q)}};
  });
  function kstyle(f) {
    var c = mode ? D.colors[mode][f.properties.i] : null;
    return {fillColor: c || "#cccccc", fillOpacity: c ? 0.72 : 0.25, color: "#555", weight: 0.4};
  }
  var kLayer = L.geoJSON({type: "FeatureCollection", features: features}, {
    style: kstyle,
    onEachFeature: function (f, layer) {
      var i = f.properties.i;
      layer.bindTooltip(function () {
        return table(K.names[i], K.fields.map(function (fld, j) { return [fld, K.values[i][j]]; }));
      }, {sticky: true});
      if (hover) {
        layer.on("mouseover", function () { layer.setStyle({weight: 2, color: "#000"}); });
        layer.on("mouseout", function () { kLayer.resetStyle(layer); });
      }
    }
  }).addTo(map);
  control.addOverlay(kLayer, esc(D.kommuner_label));

  // --- areas within T -----------------------------------------------------------------------
  D.areas.forEach(function (a) {
    var lyr = L.geoJSON({type: "Feature", properties: {},
                         geometry: {type: "MultiPolygon", coordinates: decode(a.geom, D.q)}},
                        {pane: "siting-areas", interactive: false,
                         style: {color: a.color, fillColor: a.color, weight: 1, fillOpacity: 0.3}});
    if (a.show) lyr.addTo(map);
    control.addOverlay(lyr, '<span class="siting-swatch" style="background:' + esc(a.color) + '"></span>' + esc(a.name));
  });

  // --- existing offices: small dots (canvas), under the sites ----------------------------------
  var canvas = L.canvas({pane: "siting-offices", tolerance: phone ? 12 : 3});
  var offices = L.layerGroup();
  D.stations.forEach(function (s) {
    var r = [[I.existing_office, s[3]], [I.district, s[4]]];
    if (s[6]) r.push([I.position, s[6]]);
    var m = L.circleMarker([s[0], s[1]], s[5] ? {renderer: canvas, radius: 4, color: "#253494", weight: 1.5, dashArray: "2 2", fillColor: "#ffffff", fillOpacity: 1}
                                               : {renderer: canvas, radius: 4, color: "#ffffff", weight: 1, fillColor: "#253494", fillOpacity: 1});
    var tip = table(s[2] + (s[5] ? " (" + I.standin_position + ")" : ""), r);
    if (hover) m.bindTooltip(tip); else m.bindPopup(tip, {maxWidth: 300});
    m.addTo(offices);
  });
  offices.addTo(map);
  control.addOverlay(offices, esc(D.stations_label));

  // --- sites: one marker each, placed without overlap --------------------------------------------
  var markers = [];      // every site marker on the map, in placement (rank) order
  var byId = {};         // site id -> marker record
  var leaders = L.layerGroup().addTo(map);

  function siteIcon(s) {
    var cls = "siting-site siting-" + s.kind + (s.stand_in ? " siting-standin" : "") + (s.state ? " siting-" + s.state : "");
    return L.divIcon({className: "siting-hit", iconSize: [SITE, SITE], iconAnchor: [SITE / 2, SITE / 2],
                      html: '<div class="' + esc(cls) + '">' + esc(s.label) + "</div>"});
  }
  function popupHtml(s) {
    var extra = S.popupExtra ? S.popupExtra(s) : "";
    return table(s.title, s.rows, extra);
  }
  function addSite(s, group) {
    var rec = {site: s, latlng: L.latLng(s.lat, s.lon), group: group};
    rec.marker = L.marker(rec.latlng, {icon: siteIcon(s), pane: "siting-proposals", keyboard: true, title: hover ? "" : s.title,
                                       riseOnHover: false, alt: s.title});
    if (hover) rec.marker.bindTooltip(esc(s.title), {direction: "top", offset: [0, -SITE / 2]});
    rec.marker.bindPopup(function () { return popupHtml(rec.site); }, {maxWidth: phone ? 300 : 320, autoPanPaddingTopLeft: [10, phone ? 120 : 60]});
    rec.marker.on("click", function () { rec.marker.closeTooltip(); });
    rec.marker.on("popupopen", function () { rec.marker.closeTooltip(); if (S.onPopup) S.onPopup(rec); });
    group.layer.addLayer(rec.marker);
    markers.push(rec);
    if (s.site_id) byId[s.site_id] = rec;
    return rec;
  }
  function removeSite(rec) {
    rec.group.layer.removeLayer(rec.marker);
    markers.splice(markers.indexOf(rec), 1);
    if (rec.site.site_id && byId[rec.site.site_id] === rec) delete byId[rec.site.site_id];
  }

  var groups = D.site_groups.map(function (g) {
    var grp = {name: g.name, key: g.key, layer: L.layerGroup(), sites: g.sites};
    g.sites.forEach(function (s) { addSite(s, grp); });
    grp.layer.addTo(map);
    control.addOverlay(grp.layer, esc(g.name));
    return grp;
  });

  // Greedy placement in rank order: a marker keeps its own position when free, else takes the nearest
  // free spot on rings around it (deterministic), with a leader line back to its position.
  function obstacles(z) {  // the map's controls (zoom, layers, legend, ...) in projected pixels at zoom z
    var c = map.getContainer().getBoundingClientRect(), out = [];
    Array.prototype.forEach.call(map.getContainer().querySelectorAll(".leaflet-control"), function (el) {
      var r = el.getBoundingClientRect();
      if (!r.width || !r.height) return;
      var a = map.project(map.containerPointToLatLng([r.left - c.left, r.top - c.top]), z);
      var b = map.project(map.containerPointToLatLng([r.right - c.left, r.bottom - c.top]), z);
      out.push([a.x, a.y, b.x, b.y]);
    });
    return out;
  }
  function declutter() {
    var z = map.getZoom(), placed = [], box = SITE + GAP, blocked = obstacles(z);
    var size = map.getSize(), nw = map.project(map.containerPointToLatLng([0, 0]), z);
    var view = [nw.x + box / 2, nw.y + box / 2, nw.x + size.x - box / 2, nw.y + size.y - box / 2];  // a marker seen stays in sight
    leaders.clearLayers();
    markers.forEach(function (rec, order) {
      rec.marker.setZIndexOffset(10 * (markers.length - order));
      if (!map.hasLayer(rec.marker)) return;
      var p = map.project(rec.latlng, z), best = p;
      var inView = p.x >= view[0] && p.x <= view[2] && p.y >= view[1] && p.y <= view[3];
      function free(q) {
        if (inView && (q.x < view[0] || q.x > view[2] || q.y < view[1] || q.y > view[3])) return false;
        for (var i = 0; i < placed.length; i++) {
          if (Math.abs(placed[i].x - q.x) < box && Math.abs(placed[i].y - q.y) < box) return false;
        }
        for (i = 0; i < blocked.length; i++) {
          var o = blocked[i];
          if (q.x + box / 2 > o[0] && q.x - box / 2 < o[2] && q.y + box / 2 > o[1] && q.y - box / 2 < o[3]) return false;
        }
        return true;
      }
      if (!free(p)) {
        best = null;
        for (var ring = 1; ring < 40 && !best; ring++) {
          var rad = ring * box * 0.75, n = 8 * ring;
          for (var k = 0; k < n; k++) {
            var a = -Math.PI / 2 + 2 * Math.PI * k / n;
            var q = L.point(p.x + rad * Math.cos(a), p.y + rad * Math.sin(a));
            if (free(q)) { best = q; break; }
          }
        }
        best = best || p;
      }
      placed.push(best);
      var shown = map.unproject(best, z);
      rec.marker.setLatLng(shown);
      rec.shown = shown;
      if (best !== p) {
        L.polyline([shown, rec.latlng], {renderer: leaderRenderer, color: "#333", weight: 1.2, opacity: 0.8, interactive: false}).addTo(leaders);
        L.circleMarker(rec.latlng, {renderer: leaderRenderer, radius: 2.5, color: "#333", weight: 1, fillColor: "#fff", fillOpacity: 1,
                                    interactive: false}).addTo(leaders);
      }
    });
  }
  map.on("zoomend viewreset overlayadd overlayremove", declutter);

  // --- base layers: OpenStreetMap or plain (offline) ---------------------------------------------
  var osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>' + esc(I.osm_contributors)
  });
  var plain = L.layerGroup();
  // offline (the first tile fails): fall back to the plain background instead of empty tiles
  osm.once("tileerror", function () {
    if (map.hasLayer(osm)) { map.removeLayer(osm); plain.addTo(map); }
  });
  osm.addTo(map);
  control.addBaseLayer(osm, esc(I.background_osm));
  control.addBaseLayer(plain, esc(I.background_plain));
  map.attributionControl.addAttribution(esc(D.attribution));
  control.addTo(map);

  // --- legend with the colour-mode selector; the colour bar shows only when the layer is on -----
  var legend = L.control({position: phone ? "bottomleft" : "bottomright"});
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "siting-legend" + (phone ? " siting-collapsed" : ""));
    div.id = "siting-legend";
    div.innerHTML = document.getElementById("siting-legend-template").innerHTML;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(map);
  var select = document.getElementById("siting-mode");
  function showMode() {
    var on = map.hasLayer(kLayer);
    document.getElementById("siting-mode-box").style.display = on ? "" : "none";
    Array.prototype.forEach.call(document.querySelectorAll(".siting-bar"), function (b) {
      b.style.display = on && b.getAttribute("data-mode") === mode ? "" : "none";
    });
  }
  if (select) {
    select.addEventListener("change", function () { mode = select.value; kLayer.setStyle(kstyle); showMode(); });
  }
  map.on("overlayadd overlayremove", showMode);
  showMode();
  var ltoggle = document.getElementById("siting-legend-toggle");
  function legendLabel() {
    ltoggle.textContent = document.getElementById("siting-legend").classList.contains("siting-collapsed") ? I.legend : I.hide;
  }
  ltoggle.addEventListener("click", function () {
    document.getElementById("siting-legend").classList.toggle("siting-collapsed");
    legendLabel();
  });
  legendLabel();

  // --- the panel: a side column on a desktop, a bottom sheet on a phone (collapsed at first) ------------
  var panel = document.getElementById("siting-panel");
  var ptoggle = document.getElementById("siting-panel-toggle");
  function setSheet(open) {
    panel.classList.toggle("siting-collapsed", !open);
    ptoggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  if (phone) setSheet(false);
  ptoggle.addEventListener("click", function () { setSheet(panel.classList.contains("siting-collapsed")); });
  L.DomEvent.disableClickPropagation(panel);
  L.DomEvent.disableScrollPropagation(panel);

  // --- the ranked site list: one entry per site, in the marker's order; a click opens the site ---------
  var list = document.getElementById("siting-sites");
  function entryHtml(s) {
    var lines = [];
    if (s.sub) lines.push(esc(s.sub));  // comparison: the site's rank in each plan
    if (s.kommune) lines.push(esc(s.kommune));
    if (s.newly !== undefined && s.newly !== null) lines.push(esc(fill(I.list_newly, {n: signedPeople(s.newly, 10), T: num(D.T)})));
    if (s.offences_newly !== undefined && s.offences_newly !== null) lines.push(esc(fill(I.list_offences, {n: signedPeople(s.offences_newly, 10)})));
    var cls = "siting-site siting-" + s.kind + (s.stand_in ? " siting-standin" : "") + (s.state ? " siting-" + s.state : "");
    return '<button type="button" class="siting-entry-button"><span class="' + esc(cls) + '">' + esc(s.label) + "</span>" +
           '<span class="siting-entry-text"><b>' + esc(s.name || s.title) + "</b><br><small>" + lines.join(" · ") + "</small></span></button>";
  }
  function renderList() {
    if (!list) return;
    var html = "";
    groups.forEach(function (g) {
      var recs = markers.filter(function (r) { return r.group === g; });
      if (!recs.length && !g.always) return;
      html += '<section class="siting-list-group" data-group="' + esc(g.key) + '"><h2>' + esc(g.name) + "</h2><ol>";
      recs.forEach(function (r) {
        html += '<li class="siting-entry" data-site-id="' + esc(r.site.site_id) + '">' + entryHtml(r.site) + "</li>";
      });
      html += "</ol></section>";
    });
    list.innerHTML = html;
  }
  if (list) {
    list.addEventListener("click", function (ev) {
      var li = ev.target.closest("[data-site-id]");
      if (li) openSite(li.getAttribute("data-site-id"));
    });
  }
  function openSite(id) {
    var rec = byId[id];
    if (!rec) return false;
    if (phone) setSheet(false);
    map.setView(rec.latlng, Math.max(map.getZoom(), 9), {animate: false});
    declutter();
    rec.marker.openPopup();
    return true;
  }
  renderList();

  // --- search, fullscreen, scale ----------------------------------------------------------------------
  map.addControl(new L.Control.Search({
    layer: kLayer, propertyName: "name", position: "topright", collapsed: true, initial: false,
    textPlaceholder: I.search_placeholder, textErr: I.search_not_found, textCancel: I.cancel, marker: false,
    moveToLocation: function (latlng, title, m) {
      kLayer.eachLayer(function (l) { if (l.feature.properties.name === title) m.fitBounds(l.getBounds()); });
    }
  }));
  if (!phone) L.control.fullscreen({position: "topleft", title: I.fullscreen, titleCancel: I.fullscreen_exit}).addTo(map);
  if (map.zoomControl) {
    [[map.zoomControl._zoomInButton, I.zoom_in], [map.zoomControl._zoomOutButton, I.zoom_out]].forEach(function (b) {
      if (b[0]) { b[0].title = b[1]; b[0].setAttribute("aria-label", b[1]); }
    });
  }
  L.control.scale({imperial: false}).addTo(map);

  // --- opening view: fitted to the sites (all of Norway when there are none), clear of the controls -------
  function fit() {
    var pts = markers.map(function (r) { return r.latlng; });
    var bounds = pts.length > 1 ? L.latLngBounds(pts) : L.latLngBounds(D.bounds);
    var box = map.getContainer().getBoundingClientRect();
    var tl = document.querySelector(".leaflet-top.leaflet-left").getBoundingClientRect();
    var tr = document.querySelector(".leaflet-top.leaflet-right").getBoundingClientRect();
    var half = SITE / 2 + 6;
    // controls stand in the top corners: keep the sites below their bottom edge or beside them
    var bl = document.querySelector(".leaflet-bottom.leaflet-left").getBoundingClientRect();
    var top = phone ? Math.max(tl.bottom, tr.bottom) - box.top + half : half + 8;
    var left = phone ? half : tl.right - box.left + half;
    var right = phone ? half : box.right - tr.left + half;
    var bottom = phone ? box.bottom - bl.top + half : half + 24;
    map.options.zoomSnap = 0;  // the opening view uses the screen exactly; later zooms snap to quarters
    map.fitBounds(bounds, {paddingTopLeft: [left, top], paddingBottomRight: [right, bottom], animate: false});
    map.options.zoomSnap = 0.25;
    declutter();
  }
  // a view in the address (#zoom/lat/lon) is kept, so a view can be shared as a link
  var h = /^#(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(window.location.hash);
  if (h) { map.setView([+h[2], +h[3]], +h[1], {animate: false}); declutter(); } else { fit(); }
  map.on("moveend", function () {
    var c = map.getCenter();
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "#" + map.getZoom() + "/" + c.lat.toFixed(3) + "/" + c.lng.toFixed(3));
    }
  });

  var S = window.sitingMap = {
    map: map, municipalities: kLayer, offices: offices, fit: fit, declutter: declutter, openSite: openSite,
    sites: function () { return markers.map(function (r) { return r.site.site_id; }); },
    // for siting-whatif.js
    _: {D: D, I: I, esc: esc, fill: fill, num: num, signed: signed, people: people, signedPeople: signedPeople, pct: pct,
        minutes: minutes, table: table, groups: groups, markers: markers, byId: byId, addSite: addSite, removeSite: removeSite,
        siteIcon: siteIcon, renderList: renderList, phone: phone, hover: hover, setSheet: setSheet, control: control}
  };
})();
