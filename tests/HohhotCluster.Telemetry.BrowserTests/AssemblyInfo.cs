// One platform, one dashboard and one browser for the whole run (the fixture's), tests one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
