"""Ask the archive: a question gets a grounded answer with numbered sources.

- `model`: the answer's value types (`Answer`, `Source`), shared by every writer and renderer;
- `question`: reading a question (its language, whether it is one, the words to search for);
- `compose`: the built-in answer, chosen at sentence level from the papers' own summaries;
- `llm`: the optional language model that writes the prose from the same numbered sources,
  its output checked (`guard`) and a fallback to the built-in answer on any failure;
- `asker`: retrieval for questions and the one entry point the CLI and Slack call.

Data flows one way: the store and the search index → sources → an `Answer` → rendering
(`bot.render.answer`) → Slack or the terminal.
"""
