// Package batch runs a workload through the Message Batches API inside a
// tier's batch limits, for bulk work that need not be answered at once:
// batches have their own limits, separate from and larger than the live
// endpoint's, and cost half as much (docs.claude.com, Batch processing).
//
// A Runner splits the requests into batches of at most 100,000 requests
// and 256 MB (or the tier's limits, tier.TierInfo.Batches), keeps the
// items in the processing queue within QueuedRequests, spaces its calls
// within the batch RPM, submits, retrieves each batch with a doubling
// interval until it ends, streams its results and maps them to their
// custom_id, and submits expired or server-errored items again, in a
// later batch, as Options.Resubmit says.
//
//	r, err := batch.New(client, batch.Options{Limits: info.Batches, State: "work.batches"})
//	sum, err := r.Run(ctx, reqs, func(res batch.Result) error {
//		return save(res.CustomID, res.Type, res.Message)
//	})
//
// With a state file, Run is resumable: the file is a journal, synced
// before each create leaves and after its answer, so a process that
// crashed picks its batches up by ID, never submits an item twice, and
// does not fetch again results it read to the end. A create whose answer
// was lost is looked for among the listed batches (created since, with as
// many items) before its items are submitted again.
//
// Every request is checked before anything is submitted (custom_id, the
// Messages body, the model's context window, the batch size): bad ones are
// reported together as an *InvalidError naming each one's index.
//
// The Runner talks to the API through anthropic-sdk-go's
// client.Messages.Batches; a client that goes through a Keeper's
// middleware works too. OpenAI's Batch API (a JSONL file upload, then a
// batch over the file) fits the same four calls the Runner makes (create,
// retrieve, list, results) and is not implemented yet.
package batch
