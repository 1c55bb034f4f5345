"""The bot's own words in English and Japanese (DIGEST_LANG=en|ja, default en).

Only the bot's labels are translated; archive text (titles, summaries, topic
names) is always shown as it is. Messages that end up in mrkdwn are written as
mrkdwn (they may use `*bold*` and backticks, never a raw `&`, `<` or `>`); the
renderers escape every parameter that carries archive or user text before it is
substituted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

Lang = Literal["en", "ja"]
LANGS: Final[tuple[Lang, ...]] = ("en", "ja")
DEFAULT_LANG: Final[Lang] = "en"

CATALOG: Final[Mapping[str, Mapping[str, str]]] = {
    # Cards
    "share_button": {"en": "Share in channel", "ja": "チャンネルで共有"},
    "pdf_button": {"en": "PDF", "ja": "PDF"},
    "discuss_in_thread": {"en": "💬 Discuss in thread", "ja": "💬 スレッドで議論"},
    "answer_sources": {"en": "Sources", "ja": "出典"},
    "answer_not_posted": {"en": "not posted in Slack (arXiv)", "ja": "Slack 未投稿 (arXiv)"},
    "answer_by_builtin": {
        "en": "Answered from the papers' own summaries: each point names its paper.",
        "ja": "論文の要約から回答しています。各要点に出典の論文を示しています。",
    },
    "answer_by_model": {
        "en": "Written by {model} from the numbered sources only; check a point in its paper.",
        "ja": "{model} が番号付きの出典のみから作成しました。要点は元の論文で確認してください。",
    },
    "answer_thinking": {"en": "Searching the archive…", "ja": "アーカイブを検索しています…"},
    # The built-in answer's own words (bot.ask.compose), in the question's language.
    "answer_lead_closest_one": {
        "en": "1 paper touches this; none is squarely on it. The closest:",
        "ja": "1件の論文がこの問いに触れていますが、正面から扱った論文はアーカイブにありません。近いものを挙げます。",
    },
    "answer_lead_closest": {
        "en": "{n} papers touch this; none is squarely on it. The closest:",
        "ja": "{n}件の論文がこの問いに触れていますが、正面から扱った論文はアーカイブにありません。近いものを挙げます。",
    },
    "answer_lead_many": {
        "en": "About {matching} papers in the archive address this. The {n} most relevant say:",
        "ja": "アーカイブにはこの問いに答える論文が{matching}件ほどあります。特に関係の深い{n}件の要点です。",
    },
    "answer_lead_one": {
        "en": "1 paper in the archive addresses this:",
        "ja": "アーカイブでこの問いに答える論文は1件です。要点は次のとおりです。",
    },
    "answer_lead": {
        "en": "{n} papers in the archive address this:",
        "ja": "アーカイブでこの問いに答える論文は{n}件です。要点は次のとおりです。",
    },
    "answer_nothing": {
        "en": "The archive has no paper on this. Try other words, or `/papers` with a few keywords.",
        "ja": "アーカイブにはこの問いに関する論文が見つかりませんでした。言い換えるか、`/papers` で言葉を変えて探してみてください。",
    },
    "answer_about_paper": {"en": "On this paper ({title}) [1]:", "ja": "この論文（{title}）について [1]:"},
    "answer_comment": {"en": "arXiv comment", "ja": "コメント"},
    "answer_related": {"en": "Related papers:", "ja": "関連する論文:"},
    "answer_model_failed": {
        "en": "The language model did not answer; this is the built-in answer.",
        "ja": "言語モデルが応答しなかったため、組み込みの回答を表示しています。",
    },
    "reply_one": {"en": "💬 1 reply", "ja": "💬 返信 1 件"},
    "reply_many": {"en": "💬 {n} replies", "ja": "💬 返信 {n} 件"},
    "authors_more": {"en": "+{n} more", "ja": "他 {n} 名"},
    "summary_more": {"en": "…and {n} more points", "ja": "…ほか {n} 点"},
    "categories_more": {"en": "+{n}", "ja": "+{n}"},
    "remark": {"en": "Editor's note", "ja": "ひとこと"},
    "comment": {"en": "Comment", "ja": "コメント"},
    "posted": {"en": "Posted {date}", "ja": "投稿 {date}"},
    "shared_by": {"en": "📣 Shared by {user}", "ja": "📣 {user} さんが共有"},
    "shared_fallback": {"en": "Shared paper: {title}", "ja": "共有された論文: {title}"},
    "digest_discuss": {
        "en": "💬 Discuss in thread: reply to this message",
        "ja": "💬 スレッドで議論: このメッセージに返信してください",
    },
    # Search
    "results_header": {
        "en": "Results {start}–{end} of {total} for “{query}”",
        "ja": "“{query}” の検索結果 {total} 件中 {start}–{end} 件",
    },
    "results_fallback": {
        "en": "{papers} found for “{query}”",
        "ja": "“{query}” の検索結果: {papers}",
    },
    "more_results_button": {"en": "More results", "ja": "さらに表示"},
    "no_results": {
        "en": "No papers match “{query}”.",
        "ja": "“{query}” に一致する論文はありません。",
    },
    "did_you_mean": {"en": "Did you mean", "ja": "もしかして"},
    "help_hint": {
        "en": "Type `/papers help` for the search syntax.",
        "ja": "検索の書き方は `/papers help` で確認できます。",
    },
    "and_more": {"en": "…and {n} more", "ja": "…ほか {n} 件"},
    # Browsing
    "more_button": {"en": "More", "ja": "さらに表示"},
    "paper_one": {"en": "1 paper", "ja": "論文 1 本"},
    "paper_many": {"en": "{n} papers", "ja": "論文 {n} 本"},
    "page_info": {"en": "Papers {start}–{end} of {total}", "ja": "{total} 本中 {start}–{end} 本目"},
    "open_digest": {"en": "Open the digest", "ja": "まとめページを開く"},
    "week_range": {"en": "{start} – {end}", "ja": "{start}〜{end}"},
    "week_title": {"en": "Week of {range}", "ja": "{range} の週"},
    "by_topic": {"en": "Papers by topic", "ja": "トピック別の論文数"},
    "no_papers": {"en": "No papers in this digest.", "ja": "このまとめには論文がありません。"},
    "no_more_papers": {"en": "No more papers here.", "ja": "これ以上の論文はありません。"},
    "topics_title": {"en": "📚 Topics", "ja": "📚 トピック一覧"},
    "topic_stats": {
        "en": "{papers} · {weeks} weeks · newest {last}",
        "ja": "{papers} · {weeks} 週 · 最新 {last}",
    },
    "topics_hint": {
        "en": "Open one with `/papers topic {example}` (slug, Japanese or English name).",
        "ja": "`/papers topic {example}` のように開けます (slug、日本語名、英語名のどれでも)。",
    },
    "no_topics": {"en": "No topics yet.", "ja": "トピックはまだありません。"},
    "topic_not_found": {
        "en": "No topic matches “{text}”.",
        "ja": "“{text}” に一致するトピックはありません。",
    },
    "all_topics": {"en": "Topics", "ja": "トピック一覧"},
    "topic_fallback": {"en": "{topic}: {range}, {papers}", "ja": "{topic}: {range}、{papers}"},
    # Digest posts (the weekly publisher)
    "digest_intro": {
        "en": "One message per paper follows: discuss each in its thread.",
        "ja": "このあと論文ごとに投稿します。各スレッドで議論しましょう。",
    },
    "digest_held_back": {
        "en": "📦 {n} more papers of this digest are not posted in this channel: a digest posts at most {cap}, "
        "so that one huge week cannot flood it. Browse them all with `/papers week {date}`.",
        "ja": "📦 このまとめの残り {n} 本はこのチャンネルに投稿していません。1つのまとめが投稿するのは最大 {cap} 本までです"
        "（大きすぎる週でチャンネルが埋まらないように）。`/papers week {date}` ですべて見られます。",
    },
    "digest_none_held_back": {
        "en": "Every paper of this digest is posted in this channel now.",
        "ja": "このまとめの論文はすべてこのチャンネルに投稿されました。",
    },
    "already_posted": {
        "en": "Also in this digest, already posted from another topic:",
        "ja": "このまとめのうち、他のトピックで投稿済みの論文:",
    },
    # Help
    "help_title": {
        "en": "📚 /papers: search the paper digests",
        "ja": "📚 /papers: 論文まとめを検索",
    },
    "help_intro": {
        "en": "Search every digested paper by title (English or Japanese), summary, author or "
        "category. Answers are shown only to you; *Share in channel* on a card posts it.",
        "ja": "まとめに載ったすべての論文を、タイトル (英語・日本語)、要約、著者、カテゴリで検索できます。"
        "結果はあなたにだけ表示されます。カードの *チャンネルで共有* で投稿できます。",
    },
    "help_search": {
        "en": 'Search. Words may be English or Japanese; quote a "phrase" to keep words together.',
        "ja": '検索。英語でも日本語でも検索できます。"フレーズ" は引用符で囲みます。',
    },
    "help_filters": {
        "en": "Filters, mixed freely with words: `topic:` a topic, `author:`, `cat:` an arXiv "
        "category, `week:` the week containing a date, `since:` / `until:` posted dates.",
        "ja": "絞り込み (検索語と組み合わせ可): `topic:` トピック、`author:` 著者、`cat:` arXiv "
        "カテゴリ、`week:` その日付を含む週、`since:` / `until:` 投稿日の範囲。",
    },
    "help_topic": {
        "en": "The newest digest of a topic (slug, Japanese or English name).",
        "ja": "トピックの最新のまとめ (slug、日本語名、英語名のどれでも)。",
    },
    "help_author": {"en": "Papers by an author.", "ja": "著者の論文。"},
    "help_cat": {"en": "Papers in an arXiv category.", "ja": "arXiv カテゴリの論文。"},
    "help_week": {
        "en": "A week's digests: any date in the week, `this` or `last` (default: the newest).",
        "ja": "週のまとめ: 週内の日付、`this` (今週) または `last` (先週)。省略すると最新の週。",
    },
    "help_id": {
        "en": "One paper in full, by arXiv id or URL.",
        "ja": "arXiv ID または URL で論文を1本表示。",
    },
    "help_topics": {
        "en": "Every topic with its papers and weeks.",
        "ja": "すべてのトピックと論文数。",
    },
    "help_trends": {
        "en": "Papers per topic per week over the last 12 weeks: the numbers here, the chart in your DM with me.",
        "ja": "直近 12 週のトピック別・週ごとの論文数。数値はここに、グラフはダイレクトメッセージに届きます。",
    },
    "help_hot": {
        "en": "The most discussed papers of the past week or month.",
        "ja": "この1週間または1か月でよく議論された論文。",
    },
    "help_help": {"en": "This help.", "ja": "このヘルプ。"},
    "help_ask": {
        "en": "Ask the archive a question: a short answer whose points cite numbered papers (only you see it; "
        "*Share in channel* posts it). Or ask by mentioning me, by direct message, or inside a paper's thread "
        "(answered about that paper first).",
        "ja": "アーカイブに質問: 番号付きの論文を出典にした短い回答 (あなたにだけ表示。*チャンネルで共有* で投稿)。"
        "メンション、ダイレクトメッセージ、論文のスレッドでも質問できます (スレッドではその論文について先に回答)。",
    },
    "ask_help_title": {"en": "💡 /papers ask: ask the archive", "ja": "💡 /papers ask: アーカイブに質問"},
    "ask_help_intro": {
        "en": "Write a question after `/papers ask`: the answer comes from the digests' papers, each point "
        "citing its paper. Only you see it; *Share in channel* posts it for everyone.",
        "ja": "`/papers ask` の後に質問を書いてください。まとめの論文から回答し、各要点に出典の論文を示します。"
        "回答はあなたにだけ表示され、*チャンネルで共有* で全員に投稿できます。",
    },
    "ask_help_elsewhere": {
        "en": "The same questions work by mentioning me in a channel, in a direct message to me, and inside "
        "a paper's thread, where the answer is about that paper first (`summary`, `related`, `comment` there "
        "still show the card, related papers and the arXiv comment). Keywords without a question get search results.",
        "ja": "チャンネルでのメンション、ダイレクトメッセージ、論文のスレッドでも同じように質問できます。スレッドでは"
        "その論文について先に回答します (`要約`・`関連`・`コメント` ではカード、関連論文、arXiv のコメントを表示)。"
        "質問でないキーワードには検索結果を返します。",
    },
    "ask_help_fallback": {
        "en": "How to ask the archive: /papers ask, then your question",
        "ja": "質問のしかた: /papers ask の後に質問",
    },
    "assistant_status": {"en": "is searching the archive…", "ja": "がアーカイブを検索しています…"},
    "assistant_greeting": {
        "en": "Hi! Ask me about the papers in the weekly digests: I answer from their summaries and cite each paper, "
        "linked to its discussion thread.",
        "ja": "こんにちは! 週間まとめの論文について質問してください。要約から回答し、各論文をスレッドへのリンク付きで示します。",
    },
    "assistant_prompts_title": {"en": "Try asking", "ja": "質問の例"},
    "assistant_prompt_week": {"en": "What is new this week in {topic}?", "ja": "今週の{topic}の新しい論文は？"},
    "help_examples": {"en": "Examples", "ja": "例"},
    "help_footer": {
        "en": "Each digest paper has its own thread in its topic's channel: reply there to discuss it.",
        "ja": "まとめの論文はトピックのチャンネルに1本ずつ投稿されます。スレッドで議論しましょう。",
    },
    "help_fallback": {"en": "How to use /papers", "ja": "/papers の使い方"},
    # Errors
    "error_search_failed": {
        "en": "Sorry, the search failed. Please try again in a moment.",
        "ja": "検索に失敗しました。少し待ってからもう一度お試しください。",
    },
    "error_query_too_long": {
        "en": "Your query was too long and was shortened to {n} characters.",
        "ja": "検索語が長すぎるため、{n} 文字に短縮しました。",
    },
    "error_empty_query": {
        "en": "Type what to search for, e.g. `/papers differential privacy`.",
        "ja": "検索語を入力してください (例: `/papers 差分プライバシー`)。",
    },
    "error_paper_not_found": {
        "en": "No paper {id} is in the digests.",
        "ja": "論文 {id} はまとめにありません。",
    },
    "error_bad_paper_id": {
        "en": "“{text}” is not an arXiv id or URL (e.g. `2408.00707`).",
        "ja": "“{text}” は arXiv ID や URL ではありません (例: `2408.00707`)。",
    },
    "error_bad_week": {
        "en": "“{text}” is not a week: use a date such as `2025-01-10`, `this` or `last`.",
        "ja": "“{text}” は週として読めません。`2025-01-10` のような日付、`this`、`last` を使ってください。",
    },
    "error_week_not_found": {
        "en": "There is no digest for the week of {date}.",
        "ja": "{date} の週のまとめはありません。",
    },
    "week_newest_instead": {
        "en": "There is no digest for the week of {date} (yet): this is the newest week there is.",
        "ja": "{date} の週のまとめは(まだ)ありません。いちばん新しい週を表示します。",
    },
    "error_no_digest": {
        "en": "There is no digest for {topic} yet.",
        "ja": "{topic} のまとめはまだありません。",
    },
    "error_share_failed": {
        "en": "The paper could not be posted here. Invite the bot to this channel and try again.",
        "ja": "このチャンネルに投稿できませんでした。ボットをチャンネルに招待してからもう一度お試しください。",
    },
    "error_expired": {
        "en": "These results have expired: please run the command again.",
        "ja": "この結果は期限切れです。もう一度コマンドを実行してください。",
    },
    # Most discussed papers (/papers hot)
    "hot_title_week": {"en": "🔥 Most discussed this week", "ja": "🔥 この1週間でよく議論された論文"},
    "hot_title_month": {"en": "🔥 Most discussed this month", "ja": "🔥 この1か月でよく議論された論文"},
    "hot_line": {
        "en": "{replies} · {people} in the thread",
        "ja": "{replies} · 参加 {people} 人",
    },
    "hot_people_one": {"en": "1 person", "ja": "1"},
    "hot_people_many": {"en": "{n} people", "ja": "{n}"},
    "hot_none": {
        "en": "No paper threads had replies in that time. Reply in a paper's thread to start one!",
        "ja": "この期間に返信のあった論文スレッドはありません。論文のスレッドで議論を始めましょう！",
    },
    "error_bad_period": {
        "en": "“{text}” is not a period: use `/papers hot week` or `/papers hot month`.",
        "ja": "“{text}” は期間として読めません。`/papers hot week` か `/papers hot month` を使ってください。",
    },
    # arXiv link unfurls (bot.render.unfurls)
    "unfurl_join_one": {"en": "💬 1 reply — join the discussion", "ja": "💬 返信 1 件 — 議論に参加"},
    "unfurl_join_many": {"en": "💬 {n} replies — join the discussion", "ja": "💬 返信 {n} 件 — 議論に参加"},
    "unfurl_join_none": {"en": "💬 Start the discussion in its thread", "ja": "💬 スレッドで議論を始める"},
    "unfurl_week": {"en": "📅 Digest of the week of {date}", "ja": "📅 {date} の週のまとめ"},
    # The trends chart (bot.charts.trends) and its numbers (bot.render.trends)
    "trends_chart_title": {"en": "Papers per topic per week — the last {n} weeks", "ja": "トピック別・週ごとの論文数 — 直近 {n} 週"},
    "trends_axis_papers": {"en": "papers", "ja": "論文数"},
    "trends_axis_week": {"en": "digest week (first day)", "ja": "まとめの週 (初日)"},
    "trends_this_week": {"en": "this week", "ja": "今週"},
    "trends_week_of": {"en": "week of {date}", "ja": "{date} の週"},
    "counts_overlap": {
        "en": "A paper in two topics is counted in each topic; the week's total counts it once.",
        "ja": "複数のトピックに入る論文は各トピックで数え、週の合計では 1 本と数えます。",
    },
    "trends_no_topic": {"en": "No topic matches “{topic}”: every topic is shown.", "ja": "“{topic}” に一致するトピックがないため、全トピックを表示します。"},
    "trends_empty": {"en": "The archive has no digest weeks yet.", "ja": "アーカイブにはまだまとめの週がありません。"},
    "trends_current": {"en": "The last column is the week of {date}.", "ja": "最後の列は {date} の週です。"},
    "trends_current_this_week": {"en": "The last column is this week, the week of {date}.", "ja": "最後の列は今週 ({date} の週) です。"},
    "trends_chart_sent_dm": {"en": "📈 The chart is in your direct messages with me.", "ja": "📈 グラフはダイレクトメッセージに送りました。"},
    "trends_share_button": {"en": "Share the chart in channel", "ja": "グラフをチャンネルで共有"},
    "trends_chart_failed": {"en": "The chart could not be uploaded ({error}); the numbers are above.", "ja": "グラフをアップロードできませんでした ({error})。数値は上のとおりです。"},
    "trends_shared_by": {"en": "📈 {title}, shared by {user}", "ja": "📈 {title} ({user} さんが共有)"},
    # The weekly recap (bot.render.recap)
    "recap_title": {"en": "📰 Weekly recap: {span}", "ja": "📰 週のまとめ: {span}"},
    "recap_summary": {
        "en": "The week's digests held *{papers}*; paper threads got *{replies}* replies.",
        "ja": "この週のまとめは *{papers}*、論文スレッドへの返信は *{replies}* 件でした。",
    },
    "recap_per_topic": {"en": "Per topic", "ja": "トピック別"},
    "recap_topic_line": {"en": "• {topic} `{slug}`: {papers} · {replies} replies", "ja": "• {topic} `{slug}`: {papers} · 返信 {replies} 件"},
    "recap_discussed": {"en": "🔥 Most discussed", "ja": "🔥 よく議論された論文"},
    "recap_voted": {"en": "👍 Most voted", "ja": "👍 票の多い論文"},
    "recap_votes_one": {"en": "1 vote", "ja": "1 票"},
    "recap_votes_many": {"en": "{n} votes", "ja": "{n} 票"},
    "recap_no_replies": {"en": "No paper thread had replies that week.", "ja": "この週は論文スレッドへの返信がありませんでした。"},
    "recap_no_votes": {"en": "No votes that week: react to a paper's message to vote.", "ja": "この週は投票がありませんでした。論文のメッセージにリアクションすると投票できます。"},
    "recap_chart_below": {"en": "📈 Papers per topic over the last 12 weeks: the chart is in this thread.", "ja": "📈 直近 12 週のトピック別論文数のグラフはこのスレッドにあります。"},
    "recap_chart_title": {"en": "Papers per topic per week, up to the week of {date}", "ja": "トピック別・週ごとの論文数 ({date} の週まで)"},
    # Asked inside a paper's thread
    "comment_none": {
        "en": "arXiv lists no comment for this paper.",
        "ja": "この論文には arXiv のコメントがありません。",
    },
    "error_unknown": {
        "en": "Something went wrong. Please try again.",
        "ja": "問題が発生しました。もう一度お試しください。",
    },
    # Under load (bot.slack.app)
    "error_busy": {
        "en": "The bot is very busy right now and could not take your request. Please try again in a minute.",
        "ja": "ただいま混み合っていて、リクエストを受け付けられませんでした。1分ほどしてからもう一度お試しください。",
    },
    "error_slow_down": {
        "en": "You have asked me a lot in the last minute: I will answer again in about {n} seconds.",
        "ja": "この1分間にたくさんの質問をいただきました。{n} 秒ほどしたらまた答えます。",
    },
    # ---- The personal layer: votes, saved papers, follows, the weekly DM, the Home tab ----
    "vote_one": {"en": "👍 1 vote", "ja": "👍 1 票"},
    "vote_many": {"en": "👍 {n} votes", "ja": "👍 {n} 票"},
    "save_button": {"en": "☆ Save", "ja": "☆ 保存"},
    "unsave_button": {"en": "Remove", "ja": "保存から外す"},
    "saved_done": {
        "en": "☆ Saved *{title}* to your reading list (`/papers saved`).",
        "ja": "☆ *{title}* を保存しました（`/papers saved` で一覧）。",
    },
    "saved_already": {
        "en": "*{title}* is in your reading list already (`/papers saved`).",
        "ja": "*{title}* はすでに保存されています（`/papers saved`）。",
    },
    "unsaved_done": {"en": "Removed *{title}* from your saved papers.", "ja": "*{title}* を保存から外しました。"},
    "unsaved_missing": {"en": "That paper was not in your saved papers.", "ja": "その論文は保存されていません。"},
    "save_unknown": {
        "en": "That paper is not in the archive (any more).",
        "ja": "その論文はアーカイブにありません。",
    },
    "saved_full": {
        "en": "Your reading list holds {n} papers, the most it can: remove some first (`/papers saved`).",
        "ja": "保存できる上限（{n} 本）に達しています。先にいくつか外してください（`/papers saved`）。",
    },
    "saved_title": {"en": "☆ Your saved papers ({n})", "ja": "☆ 保存した論文（{n} 本）"},
    "saved_none": {
        "en": "You have no saved papers yet: press *☆ Save* on any paper card.",
        "ja": "保存した論文はまだありません。論文カードの *☆ 保存* を押してください。",
    },
    "saved_page": {"en": "{start}–{end} of {total}, newest first", "ja": "{total} 本中 {start}–{end}（新しい順）"},
    "saved_hint": {
        "en": "Only you can see this list. `/papers saved bibtex` gives it as a BibTeX file.",
        "ja": "この一覧はあなたにだけ表示されます。`/papers saved bibtex` で BibTeX ファイルにできます。",
    },
    "bibtex_uploaded": {
        "en": "📎 Your {n} saved papers as BibTeX: the file is in your direct messages with me.",
        "ja": "📎 保存した {n} 本の BibTeX ファイルを DM に送りました。",
    },
    "bibtex_comment": {"en": "Your saved papers as BibTeX ({n})", "ja": "保存した論文の BibTeX（{n} 本）"},
    "bibtex_title": {"en": "Saved papers (BibTeX)", "ja": "保存した論文（BibTeX）"},
    "bibtex_text": {
        "en": "The file could not be uploaded, so here is your BibTeX ({n} papers) to copy:",
        "ja": "ファイルを送れなかったため、BibTeX（{n} 本）をここに表示します:",
    },
    "bibtex_cut": {
        "en": "…{n} more papers did not fit here: try `/papers saved bibtex` again later for the whole file.",
        "ja": "…ほか {n} 本は表示しきれません。後でもう一度 `/papers saved bibtex` を試してください。",
    },
    "bibtex_none": {"en": "You have no saved papers to export yet.", "ja": "書き出す保存論文がまだありません。"},
    "follow_done": {
        "en": "🔔 Following “{query}”: {n} in the last {weeks} weeks. Each week new papers that match come in one DM.",
        "ja": "🔔 “{query}” をフォローしました（直近 {weeks} 週で {n}）。毎週、新しく一致した論文を DM でお知らせします。",
    },
    "follow_exists": {"en": "You follow “{query}” already.", "ja": "“{query}” はすでにフォローしています。"},
    "follow_nothing": {
        "en": "No paper in the archive matches “{query}”, so it was not saved as a follow.",
        "ja": "“{query}” に一致する論文がアーカイブにないため、フォローしませんでした。",
    },
    "follow_try": {"en": "Try instead", "ja": "こちらはいかがですか"},
    "follow_anyway_button": {"en": "Follow anyway", "ja": "それでもフォロー"},
    "follow_button": {"en": "🔔 Follow {what}", "ja": "🔔 {what} をフォロー"},
    "follow_too_many": {
        "en": "You follow {n} queries, the most one person can: unfollow some first (`/papers following`).",
        "ja": "フォローは {n} 件までです。先にいくつか外してください（`/papers following`）。",
    },
    "follow_usage": {
        "en": "What to follow? `/papers follow QUERY`: words, `author:`, `topic:`, `cat:`, e.g. `/papers follow author:Dwork` or `/papers follow differential privacy topic:fl`. `/papers follow off` mutes the weekly DM.",
        "ja": "何をフォローしますか？ `/papers follow 検索語`（単語、`author:`、`topic:`、`cat:`）。例: `/papers follow author:Dwork`。`/papers follow off` で週次 DM を止めます。",
    },
    "follow_no_dates": {
        "en": "A follow is about new papers, so its `week:`, `since:` and `until:` were left out.",
        "ja": "フォローは新しい論文が対象のため、`week:`・`since:`・`until:` は除きました。",
    },
    "following_title": {"en": "🔔 Your follows ({n})", "ja": "🔔 フォロー中（{n} 件）"},
    "following_none": {
        "en": "You follow nothing yet. `/papers follow federated learning` or `/papers follow author:Dwork` brings a weekly DM with new papers that match.",
        "ja": "まだ何もフォローしていません。`/papers follow federated learning` などで、一致する新着論文が毎週 DM で届きます。",
    },
    "following_line": {"en": "*{i}.* `{query}`: {n} in the last {weeks} weeks", "ja": "*{i}.* `{query}`: 直近 {weeks} 週で {n}"},
    "unfollow_button": {"en": "Unfollow", "ja": "フォロー解除"},
    "dms_status_on": {
        "en": "Weekly DM: on (`/papers follow off` mutes it). Only you can see your follows.",
        "ja": "週次 DM: オン（`/papers follow off` で停止）。フォローはあなたにだけ表示されます。",
    },
    "dms_status_off": {
        "en": "Weekly DM: muted (`/papers follow on` turns it back on). Only you can see your follows.",
        "ja": "週次 DM: 停止中（`/papers follow on` で再開）。フォローはあなたにだけ表示されます。",
    },
    "dms_off_button": {"en": "🔕 Mute weekly DM", "ja": "🔕 週次 DM を止める"},
    "dms_on_button": {"en": "🔔 Weekly DM on", "ja": "🔔 週次 DM を再開"},
    "unfollow_done": {"en": "Unfollowed “{query}”.", "ja": "“{query}” のフォローを解除しました。"},
    "unfollow_unknown": {
        "en": "You do not follow “{text}”: `/papers following` lists your follows (unfollow by number or text).",
        "ja": "“{text}” はフォローしていません。`/papers following` で一覧を確認できます（番号か検索語で解除）。",
    },
    "dms_off": {
        "en": "🔕 Weekly DMs muted. Your follows stay; `/papers follow on` turns the DMs back on.",
        "ja": "🔕 週次 DM を止めました。フォローは残ります。`/papers follow on` で再開します。",
    },
    "dms_on": {
        "en": "🔔 Weekly DMs on: new papers matching your follows come in one DM a week.",
        "ja": "🔔 週次 DM を再開しました。フォローに一致する新着論文を週に1回お届けします。",
    },
    "forget_done": {
        "en": "🗑️ Done: deleted {follows} follows, {saved} saved papers, {votes} reactions, {replies} counted thread replies, {dms} weekly DM records and your settings. The bot keeps nothing about you now.",
        "ja": "🗑️ 削除しました: フォロー {follows} 件、保存論文 {saved} 本、リアクション {votes} 件、返信の記録 {replies} 件、週次 DM の記録 {dms} 件と設定。あなたについての情報はもう何も残っていません。",
    },
    "forget_usage": {
        "en": "`/papers forget me` deletes everything the bot keeps about you: follows, saved papers, votes, the replies it counted and your settings.",
        "ja": "`/papers forget me` で、フォロー・保存論文・投票・返信の記録・設定など、あなたについての情報をすべて削除します。",
    },
    "personal_needs_user": {
        "en": "Follows, saved papers and forget me are yours alone: use the `/papers` command in Slack for them (e.g. `/papers following`), so that the answer is seen by you only.",
        "ja": "フォロー・保存論文・削除はあなた専用の機能です。Slack の `/papers` コマンドで使ってください（例: `/papers following`）。",
    },
    "hot_title_votes_week": {"en": "🗳️ Most voted this week", "ja": "🗳️ この1週間で票の多い論文"},
    "hot_title_votes_month": {"en": "🗳️ Most voted this month", "ja": "🗳️ この1か月で票の多い論文"},
    "hot_votes_none": {
        "en": "No votes in that time. React to a paper's message in the channel to vote for it.",
        "ja": "この期間の投票はありません。チャンネルの論文メッセージにリアクションすると投票になります。",
    },
    "hot_votes_hint": {
        "en": "Votes are people reacting to a paper's message (any emoji but 👎). `/papers hot` ranks replies and votes together.",
        "ja": "投票は論文メッセージへのリアクションです（👎 以外）。`/papers hot` は返信と投票を合わせて並べます。",
    },
    "dm_title": {"en": "📬 Your papers of the week of {week}", "ja": "📬 {week} の週のあなた向け論文"},
    "dm_intro": {
        "en": "New papers matching your follows, best first.",
        "ja": "フォローに一致した新着論文です（関連度順）。",
    },
    "dm_follow": {"en": "🔔 *{query}*", "ja": "🔔 *{query}*"},
    "dm_more": {"en": "…and {n} more: `/papers {query} week:{week}`", "ja": "…ほか {n} 本: `/papers {query} week:{week}`"},
    "dm_discuss": {"en": "💬 thread", "ja": "💬 スレッド"},
    "dm_footer": {
        "en": "You get this DM because you follow these queries: `/papers following` to change them, `/papers follow off` to mute.",
        "ja": "フォロー中の検索語に一致したためお送りしています。変更は `/papers following`、停止は `/papers follow off`。",
    },
    "dm_fallback": {"en": "{papers} for you this week", "ja": "今週のあなた向け: {papers}"},
    "home_title": {"en": "📚 Your papers", "ja": "📚 あなたの論文"},
    "home_week": {"en": "🗞️ This week's digest: {week}", "ja": "🗞️ 今週のダイジェスト: {week}"},
    "home_week_none": {"en": "No digest in the archive yet.", "ja": "アーカイブにダイジェストがまだありません。"},
    "home_topic": {"en": "*{topic}*: {papers}", "ja": "*{topic}*: {papers}"},
    "home_new": {"en": "🔔 New for you since your last visit", "ja": "🔔 前回から新しく一致した論文"},
    "home_new_none": {
        "en": "Nothing new matches your follows since your last visit.",
        "ja": "前回以降、フォローに一致する新着論文はありません。",
    },
    "home_no_follows": {
        "en": "Follow a topic below, or anything with `/papers follow QUERY`, to see new papers here and in a weekly DM.",
        "ja": "下のトピックや `/papers follow 検索語` をフォローすると、新着論文がここと週次 DM に届きます。",
    },
    "home_follows": {"en": "Following: {queries}", "ja": "フォロー中: {queries}"},
    "home_saved": {"en": "☆ Your saved papers ({n})", "ja": "☆ 保存した論文（{n} 本）"},
    "home_saved_more": {"en": "…and {n} more: `/papers saved`", "ja": "…ほか {n} 本: `/papers saved`"},
    "home_hot": {"en": "🔥 Hot this month", "ja": "🔥 今月の注目スレッド"},
    "home_private": {
        "en": "Only you see this tab: your follows and saved papers are yours alone. `/papers forget me` deletes them.",
        "ja": "このタブはあなたにだけ表示されます。`/papers forget me` で個人の情報を削除できます。",
    },
    "help_follow": {
        "en": "Follow a query (words, author:, topic:, cat:): new papers that match come in one DM a week.",
        "ja": "検索語をフォロー: 一致する新着論文を週に1回 DM でお知らせ。",
    },
    "help_following": {
        "en": "Your follows, how much each matched lately, Unfollow buttons; unfollow by number or text; mute or unmute the weekly DM.",
        "ja": "フォロー一覧（直近の件数と解除ボタン）。番号か検索語で解除、週次 DM の停止と再開。",
    },
    "help_saved": {
        "en": "Your saved papers (☆ Save on any card), newest first; `bibtex` gives them as a BibTeX file.",
        "ja": "保存した論文（カードの ☆ 保存）。`bibtex` で BibTeX ファイル。",
    },
    "help_votes": {
        "en": "The papers with the most votes (reactions on their messages): pick the next reading.",
        "ja": "票（メッセージへのリアクション）の多い論文。次に読む論文選びに。",
    },
    "help_forget": {
        "en": "Delete everything the bot keeps about you.",
        "ja": "あなたについての情報をすべて削除。",
    },
}


class _KeepMissing(dict[str, object]):
    """Leaves `{name}` in place when a parameter is missing, rather than failing a reply."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def normalize_lang(value: str | None) -> Lang:
    """`ja` or `en` from a setting such as `ja`, `JA`, `ja-JP`; anything else is English."""
    return "ja" if value and value.strip().lower().startswith("ja") else DEFAULT_LANG


def t(lang: str, key: str, **params: object) -> str:
    """The bot's text `key` in `lang`, with `{name}` parameters filled in."""
    entry = CATALOG[key]
    template = entry.get(normalize_lang(lang)) or entry[DEFAULT_LANG]
    return template.format_map(_KeepMissing(params)) if params else template


def replies(lang: str, count: int) -> str:
    """The reply count ("💬 3 replies", "💬 返信 3 件"), or the invitation to discuss for 0."""
    if count <= 0:
        return t(lang, "discuss_in_thread")
    return t(lang, "reply_one") if count == 1 else t(lang, "reply_many", n=f"{count:,}")


def votes_label(lang: str, count: int) -> str:
    """A paper's votes ("👍 3 votes")."""
    return t(lang, "vote_one") if count == 1 else t(lang, "vote_many", n=f"{count:,}")


def papers(lang: str, count: int) -> str:
    """A paper count: "1 paper", "42 papers" ("論文 42 本")."""
    return t(lang, "paper_one") if count == 1 else t(lang, "paper_many", n=f"{count:,}")
