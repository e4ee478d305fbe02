"""Multi-step dialogues as pure state machines; their state is a core `Conversation` row."""
