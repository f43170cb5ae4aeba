"""One module per chapter: the experiments' measured tables and the chapter's prediction questions.

Notebook cells stay short calls into these modules, where the tests reach the logic.
"""
