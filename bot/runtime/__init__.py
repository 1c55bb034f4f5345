"""The running bot's edge: which archive is read (a folder or a git checkout), the scheduler,
the assembled service and the terminal preview. Nothing in the core imports from here.
"""
