"""Developer tools: infrastructure, the demo stream, tokens, schema export."""
