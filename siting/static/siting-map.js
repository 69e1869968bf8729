/* siting decision-maker map: builds every layer from the JSON payload in #siting-data.
 * All text from the data (site and municipality names, ...) is inserted escaped (esc() or
 * textContent): a name such as "<img src=x onerror=...>" is shown, never run.
 * Part of the siting package (MIT); runs on Leaflet 1.9 with markercluster, fullscreen, search. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("siting-data").textContent);
  var map = window[D.map];
  map.setMinZoom(3);
  map.setMaxZoom(18);
  var phone = window.matchMedia("(max-width: 700px)").matches;
  var I = D.i18n || {};  // the page's words, from the message catalogue (siting/messages.py, keys "js.*")

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function rows(pairs) {
    return pairs.map(function (p) {
      return "<tr><th>" + esc(p[0]) + "</th><td>" + esc(p[1]) + "</td></tr>";
    }).join("");
  }
  function table(title, pairs) {
    return '<div class="siting-tip"><b>' + esc(title) + "</b><table>" + rows(pairs) + "</table></div>";
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

  // --- panes: proposals always above the clusters of existing offices -------------------
  map.createPane("siting-areas").style.zIndex = 410;
  map.createPane("siting-proposals").style.zIndex = 640;  // above markers (600), below tooltips (650)

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
      layer.on("mouseover", function () { layer.setStyle({weight: 2, color: "#000"}); });
      layer.on("mouseout", function () { kLayer.resetStyle(layer); });
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

  // --- existing offices, clustered (blue clusters, see legend) ------------------------------
  var cluster = L.markerClusterGroup({
    disableClusteringAtZoom: 9, maxClusterRadius: 40, showCoverageOnHover: false,
    iconCreateFunction: function (c) {
      return L.divIcon({html: "<div>" + c.getChildCount() + "</div>", className: "siting-cluster", iconSize: [26, 26]});
    }
  });
  D.stations.forEach(function (s) {
    var rows = [[I.existing_office, s[3]], [I.district, s[4]]];
    if (s[6]) rows.push([I.position, s[6]]);
    L.circleMarker([s[0], s[1]], s[5] ? {radius: 5, color: "#253494", weight: 2, dashArray: "2 2", fillColor: "#ffffff", fillOpacity: 1}
                                      : {radius: 5, color: "#ffffff", weight: 1.5, fillColor: "#253494", fillOpacity: 1})
      .bindTooltip(table(s[2] + (s[5] ? " (" + I.standin_position + ")" : ""), rows))
      .addTo(cluster);
  });
  cluster.addTo(map);
  control.addOverlay(cluster, esc(D.stations_label));

  // --- proposed (or compared) sites ------------------------------------------------------------
  D.site_groups.forEach(function (g) {
    var grp = L.layerGroup();
    g.sites.forEach(function (s) {
      var icon = L.divIcon({
        className: "", iconSize: [26, 26], iconAnchor: [13, 13],
        html: '<div class="siting-site siting-' + esc(s.kind) + (s.stand_in ? " siting-standin" : "") + '">' +
              esc(s.label) + "</div>"
      });
      var tip = table(s.title, s.rows);
      L.marker([s.lat, s.lon], {icon: icon, pane: "siting-proposals", riseOnHover: true, keyboard: true, title: s.title})
        .bindTooltip(tip, {direction: "top", offset: [0, -12]})
        .bindPopup(tip, {maxWidth: 320})
        .addTo(grp);
    });
    grp.addTo(map);
    control.addOverlay(grp, esc(g.name));
  });

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
  var legend = L.control({position: "bottomright"});
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

  // --- summary panel: collapsible, collapsed at first on a phone -----------------------------------
  var panel = document.getElementById("siting-panel");
  if (phone) panel.classList.add("siting-collapsed");
  document.getElementById("siting-panel-toggle").addEventListener("click", function () {
    panel.classList.toggle("siting-collapsed");
  });
  L.DomEvent.disableClickPropagation(panel);
  L.DomEvent.disableScrollPropagation(panel);

  // --- search, fullscreen, scale ----------------------------------------------------------------------
  map.addControl(new L.Control.Search({
    layer: kLayer, propertyName: "name", position: "topright", collapsed: true, initial: false,
    textPlaceholder: I.search_placeholder, textErr: I.search_not_found, textCancel: I.cancel, marker: false,
    moveToLocation: function (latlng, title, m) {
      kLayer.eachLayer(function (l) { if (l.feature.properties.name === title) m.fitBounds(l.getBounds()); });
    }
  }));
  L.control.fullscreen({position: "topleft", title: I.fullscreen, titleCancel: I.fullscreen_exit}).addTo(map);
  if (map.zoomControl) {
    [[map.zoomControl._zoomInButton, I.zoom_in], [map.zoomControl._zoomOutButton, I.zoom_out]].forEach(function (b) {
      if (b[0]) { b[0].title = b[1]; b[0].setAttribute("aria-label", b[1]); }
    });
  }
  L.control.scale({imperial: false}).addTo(map);

  // --- initial view: all of Norway, clear of the summary panel and the controls ----------------------
  map.options.zoomSnap = 0.25;
  function fit() {
    var box = map.getContainer().getBoundingClientRect();
    var p = panel.getBoundingClientRect();
    var right = document.querySelector(".leaflet-top.leaflet-right").getBoundingClientRect();
    var pad;
    if (phone) {
      pad = {tl: [48, p.bottom - box.top + 8], br: [48, 36]};
    } else {
      pad = {tl: [p.right - box.left + 10, 10], br: [box.right - right.left + 10, 10]};
    }
    map.fitBounds(D.bounds, {paddingTopLeft: pad.tl, paddingBottomRight: pad.br});
  }
  // a view in the address (#zoom/lat/lon) is kept, so a view can be shared as a link
  var h = /^#(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(window.location.hash);
  if (h) { map.setView([+h[2], +h[3]], +h[1]); } else { fit(); }
  map.on("moveend", function () {
    var c = map.getCenter();
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "#" + map.getZoom() + "/" + c.lat.toFixed(3) + "/" + c.lng.toFixed(3));
    }
  });
  window.sitingMap = {map: map, municipalities: kLayer, clusters: cluster, fit: fit};
})();
