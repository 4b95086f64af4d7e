"""The commands of ``usage-async``: one module per command, or per family of like commands.

Each module has exactly one ``register(commands, common)``: it adds its subparser(s) to
``commands`` with the parent parsers it wants from ``common`` (``_arguments.Common``) and sets
``run``, the function that runs the command (``_running.Run``). Registering imports nothing
heavy: ``run`` imports the client, the database libraries, rich and the rest inside itself,
so ``--help`` and argument errors never load them. ``_main.REGISTRARS`` lists the modules'
``register`` functions, in the order ``--help`` shows the commands.
"""
