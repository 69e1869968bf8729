"""siting: where should Norway put its 20 new police offices?

Data flows one way through the package::

    data -> network / traveltime -> demand & candidates -> models -> solution -> metrics -> maps / report
"""

__version__ = "0.1.0"
