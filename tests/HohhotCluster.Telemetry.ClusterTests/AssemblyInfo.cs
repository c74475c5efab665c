// The kill proof runs three hosts on a 2-core machine: one test at a time keeps the others' timing honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
