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
// beside the form, Print sends the sheet to the ward's printer (or, without one, Print /
// Download saves it and says how to print it), and mistakes appear beside their fields
// without leaving the page. Nothing is stored: no storage APIs, no cookies set here.
//
// A date the browser holds as incomplete (a half-typed date or time: validity.badInput)
// would reach the desk as an empty value and print a blank line, so it stops the form
// here, with a message beside it. Without this script the browser's own check stops it.
(function () {
  const form = document.getElementById("sheet-form");
  if (!form || !window.fetch || !window.URL) return;
  document.documentElement.classList.add("js");
  const frame = document.getElementById("preview-frame");
  const empty = document.getElementById("preview-empty");
  const INCOMPLETE = {
    "date": "This date is not complete. Type the month, day and year in full, or clear it.",
    "datetime-local": "This date and time is not complete. Fill in every part (the date, " +
                      "the hour and minutes, and AM or PM if shown), or clear it.",
  };
  let previewUrl = null;
  let lastButton = null;
  let focusPending = false;

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[type=submit]");
    if (button) lastButton = button;
    if (event.target.closest("#next-patient")) {
      event.preventDefault();
      nextPatient();
    }
  });

  // The browser's own check found a field it cannot send (it does not submit): say
  // why beside the field instead of in the browser's bubble, and go to the first one.
  form.addEventListener("invalid", (event) => {
    event.preventDefault();
    markIncomplete(event.target);
    if (!focusPending) {
      focusPending = true;
      setTimeout(() => { focusPending = false; focusFirstIncomplete(); }, 0);
    }
  }, true);

  ["input", "change", "blur"].forEach((type) => form.addEventListener(type, (event) => {
    const field = event.target;
    if (field.dataset && field.dataset.incomplete && !isIncomplete(field)) {
      removeError(field);
    }
  }, true));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (focusFirstIncomplete()) return;
    const button = event.submitter || lastButton;
    const action = button && button.value === "preview" ? "preview" : "print";
    const body = new URLSearchParams(new FormData(form));
    body.set("action", action);
    const printer = form.dataset.printer;
    busy(true, action === "preview" ? "Making the preview…"
      : printer ? "Printing on " + printer + "…" : "Making the sheet…");
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
        busy(false, "Saved " + name + " in this browser's downloads folder (usually " +
                    "Downloads). It holds the patient's details: " + howToPrint(response) +
                    " then delete the file. " + chartWords(response) +
                    "Then press Next patient to clear the details.");
        offerNextPatient();
      } else {
        busy(false, "Preview ready. Check it, then press Print / Download.");
        // On a narrow screen the preview sits below the form: bring it into view.
        if (frame.getBoundingClientRect().top > window.innerHeight) {
          frame.scrollIntoView({block: "start"});
        }
      }
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    if (response.status === 401) {
      // The desk asks for its code again (it restarted, or a shift has passed): ask
      // here, so that what was typed stays.
      const access = page.querySelector("form[action='/access'] input[name=csrf]");
      if (!access) {
        window.location.assign("/");
        return;
      }
      askForCode(access.value);
      return;
    }
    const fresh = page.getElementById("sheet-form");
    if (fresh && response.ok && page.getElementById("done")) {
      // Printed on the ward's printer: the desk sent a blank form and what happened.
      form.innerHTML = fresh.innerHTML;
      form.showDetails();
      clearPreview();
      busy(false, "");
      document.getElementById("done").focus();
      return;
    }
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

  function askForCode(csrf) {
    let box = document.getElementById("code-again");
    if (!box) {
      box = document.createElement("div");
      box.id = "code-again";
      box.className = "field code-again";
      const label = document.createElement("label");
      label.htmlFor = "code-again-input";
      label.textContent = "The desk's access code";
      const input = document.createElement("input");
      input.id = "code-again-input";
      input.type = "password";
      input.autocomplete = "off";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = "Open the desk again";
      box.append(label, input, button);
      document.getElementById("status").after(box);
      button.addEventListener("click", () => sendCode(box, input));
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {  // not the sheet's form: the code only
          event.preventDefault();
          sendCode(box, input);
        }
      });
    }
    box.dataset.csrf = csrf;
    busy(false, "The desk asks for its access code again. The details are still here: " +
                "enter the code, then press the button again.");
    document.getElementById("code-again-input").focus();
  }

  async function sendCode(box, input) {
    const body = new URLSearchParams({csrf: box.dataset.csrf, code: input.value});
    input.value = "";
    let response;
    try {
      response = await fetch("/access", {method: "POST", body, credentials: "same-origin",
                                         cache: "no-store"});
    } catch (error) {
      busy(false, "The desk did not answer. Check the network and try again.");
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("#sheet-form input[name=csrf]");
    if (response.ok && fresh) {  // signed in: the form's new token, and on
      form.querySelector("input[name=csrf]").value = fresh.value;
      box.remove();
      busy(false, "The desk is open again. The details are still here: press the " +
                  "button again.");
      return;
    }
    const again = page.querySelector("form[action='/access'] input[name=csrf]");
    if (again) box.dataset.csrf = again.value;
    const wait = response.headers.get("Retry-After");
    busy(false, wait ? "Too many wrong codes. Wait " + wait + " seconds, then enter the " +
                       "code again." : "That code is not right. Try again.");
    input.focus();
  }

  // Any value the browser will not send as it is: half-typed, too long, or a number
  // outside its range (which the browser would stop with only a bubble).
  function isIncomplete(field) {
    return Boolean(field.validity && field.willValidate && !field.validity.valid);
  }

  function markIncomplete(field) {
    const validity = field.validity;
    const text = validity.tooLong
      ? "This is longer than " + field.maxLength + " characters; shorten it."
      : validity.rangeOverflow || validity.rangeUnderflow
      ? "This must be from " + Number(field.min) + " to " + Number(field.max) +
        "; check the number with the doctor's order."
      : validity.stepMismatch ? "This has too many digits after the point."
      : INCOMPLETE[field.type] || "This is not complete. Finish it, or clear it.";
    showError(field, text);
    field.dataset.incomplete = "true";
  }

  // Marks every incomplete field; focuses the first. True if there was one.
  function focusFirstIncomplete() {
    const incomplete = [...form.elements].filter(isIncomplete);
    incomplete.forEach(markIncomplete);
    if (!incomplete.length) return false;
    const label = form.querySelector("label[for='" + incomplete[0].id + "']");
    const what = incomplete[0].validity.badInput ? " is not complete." : " needs a change.";
    busy(false, "Nothing was printed: " + (label ? label.textContent.replace(
      "(optional)", "").trim() : "a detail") + what);
    incomplete[0].focus();
    return true;
  }

  function showError(field, text) {
    const id = field.id + "-error";
    let error = document.getElementById(id);
    if (!error) {
      error = document.createElement("p");
      error.className = "field__error";
      error.id = id;
      field.before(error);
    }
    error.textContent = "";
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = "Error: ";
    error.append(hidden, text);
    field.setAttribute("aria-invalid", "true");
    const ids = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!ids.includes(id)) field.setAttribute("aria-describedby", [...ids, id].join(" "));
    const box = field.closest(".field");
    if (box) box.classList.add("field--error");
  }

  function removeError(field) {
    const error = document.getElementById(field.id + "-error");
    if (error) error.remove();
    delete field.dataset.incomplete;
    field.removeAttribute("aria-invalid");
    const ids = (field.getAttribute("aria-describedby") || "").split(" ")
      .filter((id) => id && id !== field.id + "-error");
    if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
    else field.removeAttribute("aria-describedby");
    const box = field.closest(".field");
    if (box) box.classList.remove("field--error");
  }

  // A download with the brochure holds portrait and landscape pages, which flip on
  // different edges: say which pages are which (the desk counts them).
  function howToPrint(response) {
    const sheet = response.headers.get("X-Sheet-Pages");
    const brochure = response.headers.get("X-Brochure-Pages");
    if (!sheet || !brochure) return "print it on both sides, flipped on the long edge,";
    const first = Number(sheet) + 1;
    const last = first + Number(brochure) - 1;
    return "print pages 1-" + sheet + " (the sheet) on both sides flipped on the long " +
           "edge, then pages " + first + "-" + last + " (the brochure) on both sides " +
           "flipped on the short edge,";
  }

  function chartWords(response) {
    const chart = response.headers.get("X-Chart");
    if (chart === "sent") return "Education given is recorded in the patient's chart. ";
    if (chart === "failed") {
      return "It could not be recorded in the patient's chart (" +
             (response.headers.get("X-Chart-Problem") || "no answer") + "): record the " +
             "education given in the chart by hand. ";
    }
    return "";
  }

  // After a print, the next step is the next patient: offered at once, with focus.
  function offerNextPatient() {
    const next = document.getElementById("next-patient");
    if (!next) return;
    next.classList.add("button--primary");
    next.focus();
  }

  // Every detail and the preview go, then the page comes back fresh from the desk
  // (its defaults, a new token). replace(): Back does not return to this patient.
  function nextPatient() {
    // Every kind of field a sheet may declare (text, number, tel, date, a choice…),
    // not only text boxes; the hidden form token stays for the reload.
    form.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio])" +
                          ":not([type=submit]):not([type=button]), textarea")
      .forEach((field) => { field.value = ""; });
    form.querySelectorAll("input[type=checkbox], input[type=radio]")
      .forEach((box) => { box.checked = false; });
    form.querySelectorAll("select").forEach((list) => {
      const first = list.querySelector("option[selected]") || list.options[0];
      if (first) list.value = first.value;
    });
    clearPreview();
    window.location.replace("/");
  }

  function clearPreview() {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    // Hidden, not emptied: a new src would add a step to the tab's history.
    frame.classList.remove("preview__frame--shown");
    if (empty) empty.hidden = false;
  }

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
