/* WebAuthn glue for passkeys and security keys. No dependencies, no inline script (CSP).
 *
 * Buttons carry data-webauthn="register" | "authenticate" | "passkey-login" with data-begin and
 * data-complete URLs. The server answers begin with fido2's options ({"publicKey": {...}}, binary
 * values as base64url) and complete with {"redirect": url} or {"error": message}.
 *
 * Passkey autofill: on a page with a "passkey-login" button and a field whose autocomplete names
 * "webauthn", a conditional request (mediation: "conditional") starts as soon as the browser
 * supports it, so saved passkeys appear among the field's suggestions; choosing one signs in
 * through the same begin/complete URLs as the button.
 *
 * Texts are translated by Django's JavaScript catalog (the djangojs domain of the factors app).
 */
(function () {
  "use strict";

  // Django's JavaScript catalog (/jsi18n/, loaded first) translates; without it, English.
  function gettext(text) {
    return typeof window.gettext === "function" ? window.gettext(text) : text;
  }

  function b64urlToBuffer(value) {
    const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeDescriptors(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: b64urlToBuffer(d.id) }); });
  }

  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: b64urlToBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: b64urlToBuffer(json.user.id) }),
      excludeCredentials: decodeDescriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: b64urlToBuffer(json.challenge),
      allowCredentials: decodeDescriptors(json.allowCredentials),
    });
  }

  function credentialToJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try { return credential.toJSON(); } catch (e) { /* fall back below */ }
    }
    const r = credential.response;
    const response = { clientDataJSON: bufferToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bufferToB64url(r.attestationObject);
      if (typeof r.getTransports === "function") response.transports = r.getTransports();
    } else {
      response.authenticatorData = bufferToB64url(r.authenticatorData);
      response.signature = bufferToB64url(r.signature);
      if (r.userHandle) response.userHandle = bufferToB64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    };
  }

  function csrfToken() {
    const meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  async function post(url, body) {
    const reply = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await reply.json(); } catch (e) { data = {}; }
    if (!reply.ok) {
      // The sign-in expired or the change needs the password again: the server says where to go.
      if (data.redirect) window.location.assign(data.redirect);
      const error = new Error(data.error || gettext("Something went wrong. Please try again."));
      error.fromServer = true;
      throw error;
    }
    return data;
  }

  function explain(error) {
    if (error.fromServer) return error.message;
    switch (error.name) {
      case "NotAllowedError":
        return gettext("The request was cancelled or timed out. Try again, or choose another way.");
      case "InvalidStateError":
        return gettext("This security key or passkey is already registered.");
      case "SecurityError":
        return gettext("This page's address can't be used with passkeys.");
      case "NotSupportedError":
        return gettext("This browser or device doesn't support that kind of security key or passkey.");
      default:
        return gettext("Something went wrong. Please try again, or choose another way.");
    }
  }

  function statusFor(button) {
    const scope = button.closest("section") || document;
    return scope.querySelector("[data-webauthn-status]");
  }

  function say(button, text, isError) {
    const status = statusFor(button);
    if (status) {
      status.textContent = text;
      status.classList.toggle("error", Boolean(isError));
    }
  }

  // The pending conditional (autofill) request, if any: a browser runs one WebAuthn request at a
  // time, so the explicit button stops it first.
  let autofill = null;
  let beginning = null;

  // Hold a form's submission until the autofill's begin request has been answered (see startAutofill).
  function holdSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (!beginning) return;
      const pending = beginning;
      beginning = null;
      event.preventDefault();
      pending.catch(function () {}).then(function () { form.submit(); });
    });
  }

  function stopAutofill() {
    if (autofill) {
      autofill.abort();
      autofill = null;
    }
  }

  async function startAutofill(button) {
    const field = document.querySelector("input[autocomplete~='webauthn']");
    if (!field || !window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    const controller = new AbortController();
    autofill = controller;
    try {
      // The begin request writes the session (its challenge) and may set the session cookie. A
      // password submitted while it is in flight could be answered first, and this answer's
      // cookie would then replace the signed-in session's: the form waits for it (holdSubmit).
      const begun = post(button.dataset.begin, {});
      beginning = begun;
      const settled = function () { if (beginning === begun) beginning = null; };
      begun.then(settled, settled);
      const options = await begun;
      const credential = await navigator.credentials.get({
        publicKey: requestOptions(options.publicKey),
        mediation: "conditional",
        signal: controller.signal,
      });
      if (autofill !== controller) return;
      autofill = null;
      button.disabled = true;
      const result = await post(button.dataset.complete, { credential: credentialToJSON(credential), next: button.dataset.next || "" });
      say(button, gettext("Done."), false);
      window.location.assign(result.redirect || "/");
    } catch (error) {
      if (controller.signal.aborted || autofill !== controller) return;  // the button took over
      autofill = null;
      button.disabled = false;
      if (error.fromServer) say(button, error.message, true);
    }
  }

  async function run(button) {
    const mode = button.dataset.webauthn;
    stopAutofill();
    button.disabled = true;
    say(button, mode === "register" ? gettext("Follow your browser's instructions to create it...") : gettext("Waiting for your passkey or security key..."), false);
    try {
      let result;
      if (mode === "register") {
        const options = await post(button.dataset.begin, { passkey: button.dataset.passkey !== "false" });
        const credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
        const nameInput = button.dataset.nameInput ? document.getElementById(button.dataset.nameInput) : null;
        result = await post(button.dataset.complete, {
          credential: credentialToJSON(credential),
          name: nameInput ? nameInput.value : "",
        });
      } else {
        const options = await post(button.dataset.begin, {});
        const credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
        const body = credentialToJSON(credential);
        if (mode === "passkey-login") {
          result = await post(button.dataset.complete, { credential: body, next: button.dataset.next || "" });
        } else {
          const remember = document.querySelector("[data-remember]");
          body.remember = Boolean(remember && remember.checked);
          if (button.dataset.next) body.next = button.dataset.next;
          result = await post(button.dataset.complete, body);
        }
      }
      say(button, gettext("Done."), false);
      window.location.assign(result.redirect || "/");
    } catch (error) {
      say(button, explain(error), true);
      button.disabled = false;
      button.focus();  // disabling it moved focus to the page: give it back where the user was
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const buttons = document.querySelectorAll("[data-webauthn]");
    const supported = Boolean(window.PublicKeyCredential && navigator.credentials);
    buttons.forEach(function (button) {
      if (!supported) {
        button.disabled = true;
        say(button, gettext("This browser can't use passkeys or security keys. Choose another way."), true);
        return;
      }
      button.addEventListener("click", function () { run(button); });
      if (button.dataset.webauthn === "passkey-login") {
        const field = document.querySelector("input[autocomplete~='webauthn']");
        if (field && field.form) holdSubmit(field.form);
        startAutofill(button);
      }
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
