// Zoom and pan for the BPMN diagrams the server draws as SVG (processes/diagram.py).
//
// Each <div class="diagram" data-diagram="..."> with an <svg class="bpmn"> gets three buttons
// (zoom in, zoom out, reset) and can be dragged to pan. Both change only the SVG's viewBox, so
// the element links inside (the heat map's "instances waiting here") keep working: a press that
// does not move is an ordinary click. The view of each diagram survives the panel's periodic
// refresh (htmx swaps the panel; the view is kept by the diagram's data-diagram name).
(function () {
  "use strict";
  if (window.orderlyDiagram) {
    return;
  }
  var STEP = 1.25; // one button press zooms by a quarter
  var MAX_ZOOM = 8;
  var MIN_ZOOM = 0.5;
  var DRAG_START_PX = 4; // below this a press is a click, not a drag
  var views = {}; // data-diagram name -> [x, y, width, height] chosen by the user

  function parseBox(value) {
    var parts = (value || "").trim().split(/[\s,]+/).map(Number);
    return parts.length === 4 && parts.every(isFinite) ? parts : null;
  }

  function setBox(svg, box) {
    svg.setAttribute("viewBox", box.map(function (n) { return Math.round(n * 100) / 100; }).join(" "));
  }

  function button(label, text, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.title = label;
    b.dataset.zoom = action;
    return b;
  }

  function enhance(container) {
    var svg = container.querySelector("svg.bpmn");
    if (!svg || container.dataset.zoomReady) {
      return;
    }
    var home = parseBox(svg.getAttribute("viewBox"));
    if (!home) {
      return;
    }
    container.dataset.zoomReady = "1";
    var name = container.dataset.diagram || "";
    var box = (name && views[name]) ? views[name].slice() : home.slice();
    setBox(svg, box);

    function remember() {
      if (name) {
        views[name] = box.slice();
      }
    }

    function zoomBy(factor) {
      // factor > 1 zooms in: the visible box shrinks around its centre.
      var zoom = home[2] / (box[2] / factor);
      if (zoom > MAX_ZOOM || zoom < MIN_ZOOM) {
        return;
      }
      var cx = box[0] + box[2] / 2;
      var cy = box[1] + box[3] / 2;
      var w = box[2] / factor;
      var h = box[3] / factor;
      box = [cx - w / 2, cy - h / 2, w, h];
      setBox(svg, box);
      remember();
    }

    var tools = document.createElement("div");
    tools.className = "diagram-tools";
    tools.setAttribute("role", "toolbar");
    tools.setAttribute("aria-label", "Diagram view");
    tools.appendChild(button("Zoom in", "+", "in"));
    tools.appendChild(button("Zoom out", "\u2212", "out"));
    tools.appendChild(button("Reset zoom", "Reset", "reset"));
    tools.addEventListener("click", function (event) {
      var action = event.target.closest("button") && event.target.closest("button").dataset.zoom;
      if (action === "in") {
        zoomBy(STEP);
      } else if (action === "out") {
        zoomBy(1 / STEP);
      } else if (action === "reset") {
        box = home.slice();
        setBox(svg, box);
        if (name) {
          delete views[name];
        }
      }
    });
    container.parentNode.insertBefore(tools, container);
    container.classList.add("pannable");

    var press = null; // {x, y, box, dragging, pointerId}
    svg.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) {
        return;
      }
      press = { x: event.clientX, y: event.clientY, box: box.slice(), dragging: false, id: event.pointerId };
    });
    svg.addEventListener("pointermove", function (event) {
      if (!press || event.pointerId !== press.id) {
        return;
      }
      var dx = event.clientX - press.x;
      var dy = event.clientY - press.y;
      if (!press.dragging) {
        if (Math.abs(dx) < DRAG_START_PX && Math.abs(dy) < DRAG_START_PX) {
          return;
        }
        press.dragging = true;
        svg.setPointerCapture(event.pointerId);
        container.classList.add("panning");
      }
      var rect = svg.getBoundingClientRect();
      var scale = rect.width ? box[2] / rect.width : 1;
      box = [press.box[0] - dx * scale, press.box[1] - dy * scale, box[2], box[3]];
      setBox(svg, box);
      event.preventDefault();
    });
    function release(event) {
      if (!press || event.pointerId !== press.id) {
        return;
      }
      if (press.dragging) {
        remember();
        container.classList.remove("panning");
        // The click that ends a drag must not follow the link under the pointer.
        var swallow = function (click) {
          click.preventDefault();
          click.stopPropagation();
        };
        svg.addEventListener("click", swallow, true);
        setTimeout(function () {
          svg.removeEventListener("click", swallow, true);
          press = null;
        }, 0);
      } else {
        press = null;
      }
    }
    svg.addEventListener("pointerup", release);
    svg.addEventListener("pointercancel", function (event) {
      release(event);
      press = null;
    });
  }

  function scan(root) {
    var found = (root || document).querySelectorAll ? (root || document).querySelectorAll(".diagram") : [];
    for (var i = 0; i < found.length; i++) {
      enhance(found[i]);
    }
    if (root && root.classList && root.classList.contains("diagram")) {
      enhance(root);
    }
  }

  window.orderlyDiagram = { scan: scan };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
  // htmx swaps the workflow panel every few seconds: enhance the new diagram with the old view.
  document.addEventListener("htmx:load", function (event) { scan(event.detail && event.detail.elt); });
})();
