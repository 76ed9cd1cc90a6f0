"""The web pages planbot serves, in the language of the order or the browser."""
