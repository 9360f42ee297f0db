// Package streamesm is the local stand-in for a Lambda DynamoDB Streams event
// source mapping: it reads DynamoDB Local's stream (which it serves through the
// DynamoDB Streams API), keeps the records the template's filter criteria
// would pass, invokes the handler with an events.DynamoDBEvent, and on a
// reported batch item failure reads again from the lowest failed record (as
// Lambda does; see retryFrom), up to MaxRetries times.
package streamesm

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// API is the part of the DynamoDB Streams client used.
type API interface {
	DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// Handler is a DynamoDB Streams Lambda handler with ReportBatchItemFailures.
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Poller reads one stream into one handler.
type Poller struct {
	API       API
	StreamARN string
	Handler   Handler
	// Filter stands for the event source's FilterCriteria (nil: every record).
	Filter     func(events.DynamoDBEventRecord) bool
	MaxRetries int // per failing record (the template's MaximumRetryAttempts)

	iters   map[string]*string // shard -> next iterator (nil: closed and done)
	retries map[string]int     // sequence number -> failed invocations
}

// Once reads every shard once from where it stopped and returns how many
// records the handler was given.
func (p *Poller) Once(ctx context.Context) (int, error) {
	if p.iters == nil {
		p.iters, p.retries = map[string]*string{}, map[string]int{}
	}
	d, err := p.API.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.StreamARN)})
	if err != nil {
		return 0, fmt.Errorf("describe stream: %w", err)
	}
	total := 0
	for _, sh := range d.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		it, seen := p.iters[id]
		if !seen {
			out, err := p.API.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.StreamARN),
				ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				return total, fmt.Errorf("shard iterator: %w", err)
			}
			it = out.ShardIterator
		}
		if it == nil {
			continue // closed shard, fully read
		}
		out, err := p.API.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
		if err != nil {
			return total, fmt.Errorf("get records: %w", err)
		}
		p.iters[id] = out.NextShardIterator
		var ev events.DynamoDBEvent
		for _, r := range out.Records {
			rec := convert(r, p.StreamARN)
			if p.Filter == nil || p.Filter(rec) {
				ev.Records = append(ev.Records, rec)
			}
		}
		if len(ev.Records) == 0 {
			continue
		}
		total += len(ev.Records)
		res, err := p.Handler(ctx, ev)
		failed := retryFrom(ev.Records, res, err)
		if failed == "" {
			continue
		}
		if p.retries[failed]++; p.retries[failed] > p.MaxRetries {
			continue // given up, as Lambda does after MaximumRetryAttempts
		}
		again, err := p.API.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.StreamARN),
			ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(failed)})
		if err != nil {
			return total, fmt.Errorf("retry iterator: %w", err)
		}
		p.iters[id] = again.ShardIterator
	}
	return total, nil
}

// retryFrom is the sequence number Lambda retries the batch from ("" when the
// batch succeeded), as documented for DynamoDB Streams partial batch responses
// (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html):
// with several failures, the record with the lowest sequence number is the
// checkpoint; a function error, or an itemIdentifier that is empty or names no
// record of the batch, fails the whole batch.
func retryFrom(recs []events.DynamoDBEventRecord, res events.DynamoDBEventResponse, err error) string {
	if err != nil {
		return recs[0].Change.SequenceNumber
	}
	lowest := len(recs)
	for _, f := range res.BatchItemFailures {
		i := slices.IndexFunc(recs, func(r events.DynamoDBEventRecord) bool {
			return f.ItemIdentifier != "" && r.Change.SequenceNumber == f.ItemIdentifier
		})
		if i < 0 {
			return recs[0].Change.SequenceNumber
		}
		lowest = min(lowest, i) // records come in sequence order
	}
	if lowest == len(recs) {
		return ""
	}
	return recs[lowest].Change.SequenceNumber
}

func convert(r types.Record, arn string) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
		EventSource: "aws:dynamodb", EventVersion: aws.ToString(r.EventVersion), AWSRegion: aws.ToString(r.AwsRegion), EventSourceArn: arn}
	if d := r.Dynamodb; d != nil {
		rec.Change = events.DynamoDBStreamRecord{Keys: attrs(d.Keys), NewImage: attrs(d.NewImage), OldImage: attrs(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType)}
	}
	return rec
}

func attrs(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = attr(v)
	}
	return out
}

func attr(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(x.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(x.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(x.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(x.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(x.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(x.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(x.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, 0, len(x.Value))
		for _, e := range x.Value {
			l = append(l, attr(e))
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(attrs(x.Value))
	default:
		return events.NewNullAttribute()
	}
}
