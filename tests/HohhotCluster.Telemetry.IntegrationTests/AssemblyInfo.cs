// The platform hosts these tests start all subscribe to the one test broker; one test at a time keeps their
// timing honest on a 2-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
