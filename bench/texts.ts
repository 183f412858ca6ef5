// Fixed texts for the TTS speed benchmark, written for this benchmark (no third-party text).
// At the public voices' rates espeak reads the English one in about two minutes and the
// Mandarin one in about one minute; run.ts prints the exact audio length it measured.

/** About 2 minutes of English (en-us-female, rate 165). */
export const ENGLISH = [
  'Every morning at half past six, the harbour master of a small northern town climbs the stairs of the old stone tower and looks out over the water.',
  'She writes down the wind, the height of the waves and the colour of the sky, in a notebook that her predecessor started more than forty years ago.',
  'Nobody asked her to keep it up. The weather service has had automatic stations along this coast since 1998, and they report every ten minutes.',
  'But the notebook records things that the stations cannot: a fishing boat that came back early, a flock of geese flying low, the smell of rain before it arrives.',
  'On calm days the entries are short. On stormy days they fill a whole page, and the handwriting grows larger and less careful as the evening goes on.',
  'Last winter, a group of students from the university asked whether they could read the notebooks.',
  'They wanted to compare the old observations with the measured data, to see how often people had been right about the weather before the instruments agreed.',
  'The answer surprised them. For storms that arrived from the west, the notes were right about three times out of four, and often a few hours earlier than the forecasts.',
  'For fog, the notes were almost useless, because fog in this bay appears and disappears within minutes, and by the time anyone writes it down it is usually gone.',
  'The students published a short paper, and the harbour master was invited to give a talk about her work. She said no at first, then changed her mind.',
  'In the talk she explained that she does not think of the notebook as a forecast at all. It is a conversation, she said, between everyone who has watched this water.',
  'Some of them are gone now, but their sentences are still there, next to hers, and sometimes she reads an old entry from the same day of the year before she writes her own.',
  'When the talk was over, somebody asked what would happen to the notebooks when she retires. She laughed and said that there are still plenty of empty pages.',
  'Then she added, more quietly, that she hopes the next person will keep writing, even on the calm days, because the calm days are the ones that nobody remembers.',
].join(' ');

/** About 1 minute of Mandarin (zh-cn-female, rate 150). */
export const MANDARIN = [
  '每天早上六点半，小镇的港务长都会爬上那座老石塔，看一看海面的情况。',
  '她把风向、浪高和天空的颜色记在一个笔记本里，这个本子是四十多年前由她的前任开始写的。',
  '其实没有人要求她这样做，因为海岸边早就有了自动气象站，每十分钟报告一次数据。',
  '天气平静的时候，她只写短短几行；遇到风暴的日子，她会写满整整一页。',
  '去年冬天，几位大学生来问她，能不能借这些笔记本做研究。',
  '她说，这个本子不是预报，而是一场对话，是所有看过这片海的人之间的对话。',
].join('');
