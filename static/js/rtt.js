// Round-trip time for the risk engine (docs/risk-model.md, "Round-trip time"): a few small
// requests to this site's own probe, timed here; the median goes into the sign-in form's hidden
// field. Nothing leaves the page but the number; no third party is involved.
(function () {
  "use strict";
  var field = document.getElementById("rtt-ms");
  if (!field || !window.fetch || !window.performance) {
    return;
  }
  var url = field.getAttribute("data-probe");
  var PROBES = 5;
  var samples = [];

  function median(values) {
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    var mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  function probe(i) {
    var started = performance.now();
    // No cookies either way: a probe still in flight when the password is sent would carry the
    // session cookie the sign-in is about to replace, and its answer would expire the new one.
    return fetch(url, { cache: "no-store", credentials: "omit", redirect: "error" }).then(function (response) {
      var elapsed = performance.now() - started;
      if (!response.ok) {
        throw new Error("probe answered " + response.status);
      }
      // The first request may pay for a new connection: it is not a round trip of the network.
      if (i > 0) {
        samples.push(elapsed);
        // Keep the field current, so that a quick submit still sends what was measured so far.
        field.value = median(samples).toFixed(1);
      }
    });
  }

  var chain = Promise.resolve();
  for (var i = 0; i <= PROBES; i += 1) {
    chain = chain.then(probe.bind(null, i));
  }
  chain.catch(function () {
    // A failed probe leaves the time unknown rather than half-measured.
    field.value = "";
  });
})();
