"""How people engage with the bot's paper posts: replies in their threads, reactions as votes, what is hot.

`threads` says which paper a thread is about (a query on the posts); `votes`
and `discussion` both read it, and `discussion` adds the votes to its counts.
"""
