"use strict";
// Each sheet (handout and variant) has its own details: show only the chosen sheet's,
// and leave the others out of the post (a disabled field is not sent).
(function () {
  const form = document.getElementById("sheet-form");
  if (!form) return;
  function chosen(name) {
    const field = form.querySelector(`input[name=${name}]:checked, input[type=hidden][name=${name}]`);
    return field ? field.value : "";
  }
  function showDetails() {
    const sheet = chosen("handout") + "/" + chosen("variant");
    for (const box of form.querySelectorAll(".detail[data-sheets]")) {
      const here = box.dataset.sheets.split(" ").includes(sheet);
      box.hidden = !here;
      for (const input of box.querySelectorAll("input, select, textarea")) input.disabled = !here;
    }
  }
  form.addEventListener("change", (event) => {
    if (["handout", "variant"].includes(event.target.name)) showDetails();
  });
  showDetails();
  form.showDetails = showDetails;  // again after the form is redrawn with its errors
})();

// The form works without this script (plain posts); with it, Preview shows the PDF
// beside the form, Print / Download saves it, and mistakes appear beside their fields
// without leaving the page. Nothing is stored: no storage APIs, no cookies set here.
(function () {
  const form = document.getElementById("sheet-form");
  if (!form || !window.fetch || !window.URL) return;
  document.documentElement.classList.add("js");
  const frame = document.getElementById("preview-frame");
  const empty = document.getElementById("preview-empty");
  let previewUrl = null;
  let lastButton = null;

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[type=submit]");
    if (button) lastButton = button;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter || lastButton;
    const action = button && button.value === "preview" ? "preview" : "print";
    const body = new URLSearchParams(new FormData(form));
    body.set("action", action);
    busy(true, action === "preview" ? "Making the preview…" : "Making the sheet…");
    let response;
    try {
      response = await fetch(form.getAttribute("action"), {
        method: "POST", body, credentials: "same-origin", cache: "no-store",
      });
    } catch (error) {
      busy(false, "The desk did not answer. Check the network and try again.");
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    if (response.ok && type.startsWith("application/pdf")) {
      const blob = await response.blob();
      const name = fileName(response);
      clearErrors();
      show(blob);
      if (action === "print") {
        save(blob, name);
        busy(false, "Saved " + name + ". Open it and print it, or use the printer " +
                    "button in the preview.");
      } else {
        busy(false, "Preview ready. Check it, then press Print / Download.");
        // On a narrow screen the preview sits below the form: bring it into view.
        if (frame.getBoundingClientRect().top > window.innerHeight) {
          frame.scrollIntoView({block: "start"});
        }
      }
      return;
    }
    if (response.status === 401) {
      window.location.assign("/");
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("sheet-form");
    if (fresh && response.status === 403) {
      // The session had expired (the desk restarted): keep what was typed, take the
      // new session's token, and let the nurse press the button again.
      form.querySelector("input[name=csrf]").value =
        fresh.querySelector("input[name=csrf]").value;
      busy(false, "The form had expired. The details are still here: press the " +
                  "button again.");
      return;
    }
    if (fresh) {
      form.innerHTML = fresh.innerHTML;
      form.showDetails();
      busy(false, "");
      const summary = document.getElementById("error-summary");
      if (summary) summary.focus();
      return;
    }
    const message = page.querySelector(".message");
    busy(false, message ? message.textContent : "Something went wrong; please try again.");
  });

  function busy(on, text) {
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = on; });
    form.setAttribute("aria-busy", on ? "true" : "false");
    const status = document.getElementById("status");
    if (status) status.textContent = text;
  }

  function clearErrors() {
    form.querySelectorAll(".summary, .field__error").forEach((node) => node.remove());
    form.querySelectorAll("[aria-invalid]").forEach((node) => {
      node.removeAttribute("aria-invalid");
      const ids = (node.getAttribute("aria-describedby") || "").split(" ")
        .filter((id) => id && !id.endsWith("-error"));
      if (ids.length) node.setAttribute("aria-describedby", ids.join(" "));
      else node.removeAttribute("aria-describedby");
    });
    form.querySelectorAll(".field--error").forEach((node) => node.classList.remove("field--error"));
  }

  function show(blob) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(blob);
    frame.src = previewUrl;
    frame.classList.add("preview__frame--shown");
    if (empty) empty.hidden = true;
  }

  function save(blob, name) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  }

  function fileName(response) {
    const header = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : "discharge-sheet.pdf";
  }
})();
