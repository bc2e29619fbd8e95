"use strict";
// Passkeys, where the browser has them: the forms marked data-passkey ask the server for
// options, run the WebAuthn ceremony and post its answer. Without this script (or without
// passkeys) the panel works as before: a mailed link always signs in.
(function () {
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
    return;
  }
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.hidden = false;
    const status = form.querySelector("[data-passkey-status]");
    form.addEventListener("submit", async function (event) {
      if (form.dataset.ready === "1") {
        return;
      }
      event.preventDefault();
      status.textContent = "Waiting for your passkey…";
      try {
        const body = new FormData();
        body.append("csrf_token", form.elements.csrf_token.value);
        const answer = await fetch(form.dataset.options, {
          method: "POST", body: body, credentials: "same-origin",
        });
        if (!answer.ok) {
          throw new Error("the server said " + answer.status);
        }
        const options = await answer.json();
        let credential;
        if (form.dataset.passkey === "register") {
          credential = await navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
          });
        } else {
          credential = await navigator.credentials.get({
            publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
          });
        }
        form.elements.credential.value = JSON.stringify(credential.toJSON());
        form.dataset.ready = "1";
        status.textContent = "Checking…";
        form.submit();
      } catch (error) {
        status.textContent = "The passkey did not work (" + error.message + "). "
          + "You can always sign in with a mailed link instead.";
      }
    });
  });
})();
