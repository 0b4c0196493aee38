// Runs inside the page, after node_modules' markdown-it and adaptivecards bundles (render.mjs adds all three).
// Exposes window.cardHarness: render one card, report what the renderer made of it, and record what it submits.
(() => {
  "use strict";
  const AC = window.AdaptiveCards;

  // A light host close to how Webex shows cards: white card, dark text, blue accent, ~500 px wide.
  const HOST_CONFIG = {
    fontFamily: "'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', sans-serif",
    supportsInteractivity: true,
    spacing: { small: 4, default: 8, medium: 16, large: 24, extraLarge: 32, padding: 16 },
    separator: { lineThickness: 1, lineColor: "#DEDEDE" },
    fontSizes: { small: 12, default: 14, medium: 17, large: 21, extraLarge: 26 },
    fontWeights: { lighter: 300, default: 400, bolder: 600 },
    lineHeights: { small: 16, default: 20, medium: 23, large: 28, extraLarge: 34 },
    containerStyles: {
      default: {
        backgroundColor: "#FFFFFF",
        foregroundColors: {
          default: { default: "#121212", subtle: "#636466" },
          dark: { default: "#121212", subtle: "#636466" },
          light: { default: "#FFFFFF", subtle: "#F2F2F2" },
          accent: { default: "#0A78CC", subtle: "#0A78CC" },
          good: { default: "#1D805F", subtle: "#1D805F" },
          warning: { default: "#A85B00", subtle: "#A85B00" },
          attention: { default: "#D4371C", subtle: "#D4371C" },
        },
      },
      emphasis: {
        backgroundColor: "#F7F7F7",
        foregroundColors: {
          default: { default: "#121212", subtle: "#636466" },
          accent: { default: "#0A78CC", subtle: "#0A78CC" },
          good: { default: "#1D805F", subtle: "#1D805F" },
          warning: { default: "#A85B00", subtle: "#A85B00" },
          attention: { default: "#D4371C", subtle: "#D4371C" },
        },
      },
    },
    actions: {
      maxActions: 5,
      spacing: "medium",
      buttonSpacing: 8,
      actionsOrientation: "horizontal",
      actionAlignment: "left",
      showCard: { actionMode: "inline", inlineTopMargin: 16 },
    },
    factSet: {
      title: { weight: "bolder", wrap: true, maxWidth: 150 },
      value: { wrap: true },
      spacing: 8,
    },
    inputs: {
      label: {
        inputSpacing: "small",
        requiredInputs: { weight: "bolder", suffix: " *", suffixColor: "attention" },
        optionalInputs: { weight: "bolder" },
      },
      errorMessage: { size: "small", color: "attention" },
    },
  };

  const md = window.markdownit({ html: false, linkify: false, breaks: false });
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = md.render(text);
    result.didProcess = true;
  };

  // The renderer ignores a JSON property it has no definition for without a word (it only logs
  // properties newer than the target version). To hear about every property that 1.3 does not know,
  // compare each parsed object's JSON keys with its schema (plus the collections its parser reads).
  let unknownProperties = null; // a list while a card is being parsed
  const originalInternalParse = AC.SerializableObject.prototype.internalParse;
  AC.SerializableObject.prototype.internalParse = function (source, context) {
    originalInternalParse.call(this, source, context);
    if (unknownProperties === null || !source || typeof source !== "object") {
      return;
    }
    const known = new Set();
    const schema = this.getSchema();
    for (let i = 0; i < schema.getCount(); i++) {
      known.add(schema.getItemAt(i).name);
    }
    if (this instanceof AC.CardElement || this instanceof AC.Action) known.add("fallback");
    if (this instanceof AC.Container) known.add(this.getItemsCollectionPropertyName());
    if (this instanceof AC.ContainerWithActions || this instanceof AC.ActionSet) known.add("actions");
    if (this instanceof AC.ColumnSet) known.add("columns");
    if (this instanceof AC.ShowCardAction) known.add("card");
    if (this instanceof AC.RichTextBlock) known.add("inlines");
    for (const key of Object.keys(source)) {
      if (!known.has(key)) {
        unknownProperties.push({
          phase: "Parse",
          event: "UnknownProperty",
          message: `Unknown property "${key}" (the renderer ignores it)`,
          source: describe(this),
        });
      }
    }
  };

  function describe(object) {
    if (!object) return "";
    const type = typeof object.getJsonTypeName === "function" ? object.getJsonTypeName() : object.constructor.name;
    const id = object.id ? `#${object.id}` : "";
    const title = !object.id && object.title ? `[${object.title}]` : "";
    return type + id + title;
  }

  function event(e) {
    return {
      phase: AC.ValidationPhase[e.phase],
      event: AC.ValidationEvent[e.event],
      message: e.message,
      source: describe(e.source),
    };
  }

  // Parse-phase events about things this host can live with; everything else is an error.
  const WARNING_EVENTS = new Set(["Hint", "Deprecated", "UnsupportedProperty", "UnknownProperty", "Other"]);

  let current = null;

  function render(json) {
    const host = document.getElementById("card");
    host.replaceChildren();
    const card = new AC.AdaptiveCard();
    card.hostConfig = new AC.HostConfig(HOST_CONFIG);
    const context = new AC.SerializationContext(AC.Versions.v1_3);
    const submissions = [];
    card.onExecuteAction = (action) => {
      submissions.push({
        title: action.title,
        type: action.getJsonTypeName(),
        // a SubmitAction's data, once prepared for execution: its own data merged with the
        // values of its associated inputs (inputs left empty are not included)
        data: action.data === undefined ? null : JSON.parse(JSON.stringify(action.data)),
      });
    };

    const events = [];
    unknownProperties = [];
    try {
      card.parse(json, context);
    } finally {
      events.push(...unknownProperties);
      unknownProperties = null;
    }
    for (let i = 0; i < context.eventCount; i++) {
      events.push(event(context.getEventAt(i)));
    }
    for (const e of card.validateProperties().validationEvents) {
      events.push(event(e));
    }

    const element = card.render();
    if (element) {
      host.appendChild(element);
    }
    const inputs = [];
    for (const input of card.getAllInputs()) {
      const outer = input.renderedElement;
      const control = outer && outer.querySelector("input, textarea, select");
      if (outer && control && document.body.contains(outer)) {
        outer.setAttribute("data-input-id", input.id);
        inputs.push({ id: input.id, type: input.getJsonTypeName(), control: control.tagName.toLowerCase() +
          (control.type ? `[type=${control.type}]` : "") });
      }
    }
    const actions = [];
    for (const action of card.getAllActions()) {
      const button = action.renderedElement;
      if (button && document.body.contains(button)) {
        button.setAttribute("data-action-title", action.title);
        actions.push({ title: action.title, type: action.getJsonTypeName(),
          associatedInputs: action.associatedInputs === undefined ? null : action.associatedInputs });
      }
    }
    current = { card, submissions };
    return {
      rendered: Boolean(element),
      errors: events.filter((e) => !WARNING_EVENTS.has(e.event)),
      warnings: events.filter((e) => WARNING_EVENTS.has(e.event)),
      inputs,
      actions,
    };
  }

  // What the last click did: the submission it produced, or which inputs the renderer marked invalid.
  function takeSubmissions() {
    const taken = current.submissions.splice(0);
    const failed = current.card.hostConfig.makeCssClassName("ac-input-validation-failed");
    const invalid = [];
    for (const input of current.card.getAllInputs()) {
      const outer = input.renderedElement;
      if (outer && outer.querySelector("." + failed.split(" ").join("."))) {
        invalid.push(input.id);
      }
    }
    return { submissions: taken, invalidInputs: invalid };
  }

  window.cardHarness = { render, takeSubmissions };
})();
