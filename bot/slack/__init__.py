"""The Slack edge: Web API clients, the Bolt app and its servers."""
