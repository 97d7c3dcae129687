from trainhooks.hooks import hookimpl


class ArgumentPlugin:
    @hookimpl
    def trainhooks_on_trial_end(self, evnt):  # misspelt argument: the spec says "event"
        pass


class HookPlugin:
    @hookimpl
    def trainhooks_on_trail_end(self, event):  # misspelt hook name
        pass
