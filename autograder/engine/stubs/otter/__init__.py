"""Stand-in for otter inside the grading child: notebooks call ``otter.Notebook(...)``
and ``grader.check(...)``; the hidden graders do the grading, so these do nothing."""


class Notebook:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None
