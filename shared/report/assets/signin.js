import * as api from "./report?asset=api.js";
import { h, page, fail, say } from "./report?asset=dom.js";

export function signinPage(next) {
  const user = h("input", { name: "username", id: "username", autocomplete: "username", required: true });
  const pass = h("input", { name: "password", id: "password", type: "password", autocomplete: "current-password", required: true });
  const btn = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "signin", method: "post", onsubmit: async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    say("Signing in…");
    try {
      await api.signIn(user.value, pass.value);
      pass.value = "";
      say("");
      const target = "#" + (next && next !== "/signin" ? next : "/jobs");
      if (location.hash === target) dispatchEvent(new HashChangeEvent("hashchange"));
      else location.hash = target;
    } catch (e) {
      fail(e.status === 401 ? new Error("Wrong username or password.") : e);
      btn.disabled = false;
      pass.focus();
    }
  } },
  h("label", { for: "username" }, "Username", user),
  h("label", { for: "password" }, "Password", pass),
  btn);
  page("Sign in", h("p", { class: "muted" }, "Your benchwrap account: the one the client's benchwrap login uses."), form);
  user.focus();
}
