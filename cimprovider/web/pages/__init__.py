"""The console's pages, one module per area; each handler takes the
console and the request and returns a response."""
