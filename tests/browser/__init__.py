"""Real clients (Apollo Client under node, GraphiQL in Chromium) against a live server."""
