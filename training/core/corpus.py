"""The built-in chat corpus the embedded default model learns English from.

Short everyday questions with one- to three-sentence answers across topics (science,
cooking, health, money, work, writing, travel, pets, home, language, small talk),
written for rankwise; none of it comes from a public data set. Answers stay short so
the model learns to finish a reply, with EOS, well within generation's default
64 new tokens. A chat is `(role, content)` turns ending with the assistant's reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from training.core.batching import encode_prompt_completion
from training.core.data import Text

Chat = tuple[tuple[str, str], ...]  # (role, content) turns ending with the reply

EVERYDAY_QA: tuple[tuple[str, str], ...] = (
    (
        "What is the capital of France?",
        "The capital of France is Paris. It sits on the river Seine and is home to "
        "about two million people.",
    ),
    (
        "What is the capital of Japan?",
        "Tokyo is the capital of Japan. It is one of the largest cities in the world.",
    ),
    (
        "What is the capital of Canada?",
        "The capital of Canada is Ottawa, in the province of Ontario, not Toronto "
        "as many people guess.",
    ),
    (
        "Which is the longest river in the world?",
        "The Nile and the Amazon are both about 6,500 kilometres long, and experts "
        "still argue about which one is longer.",
    ),
    (
        "How many continents are there?",
        "There are seven continents: Africa, Antarctica, Asia, Australia, Europe, "
        "North America and South America.",
    ),
    (
        "What is the highest mountain on Earth?",
        "Mount Everest, in the Himalayas, is the highest mountain above sea level "
        "at about 8,849 metres.",
    ),
    (
        "Why is the sky blue?",
        "Sunlight is made of many colours. Air scatters blue light more than red "
        "light, so blue reaches our eyes from every part of the sky.",
    ),
    (
        "Why do we have seasons?",
        "The Earth is tilted on its axis. As it goes around the Sun, each half of "
        "the planet gets more direct sunlight for part of the year, which brings "
        "summer.",
    ),
    (
        "How far away is the Moon?",
        "The Moon is about 384,000 kilometres from the Earth. Light takes just over "
        "one second to travel that far.",
    ),
    (
        "What causes the tides?",
        "Tides are caused mainly by the pull of the Moon's gravity on the oceans, "
        "with a smaller pull from the Sun.",
    ),
    (
        "What is photosynthesis?",
        "Photosynthesis is how plants make food. They use sunlight to turn water "
        "and carbon dioxide into sugar, and they give off oxygen.",
    ),
    (
        "How does a rainbow form?",
        "A rainbow forms when sunlight passes through raindrops. Each drop bends "
        "and splits the light into its colours, from red to violet.",
    ),
    (
        "What is gravity?",
        "Gravity is the force that pulls objects towards each other. It keeps us on "
        "the ground and keeps the planets moving around the Sun.",
    ),
    (
        "Why does ice float on water?",
        "Water expands when it freezes, so ice is less dense than liquid water. "
        "That is why ice cubes float and lakes freeze from the top down.",
    ),
    (
        "What is the difference between a virus and a bacterium?",
        "Bacteria are tiny living cells that can grow on their own. Viruses are "
        "much smaller and can only make copies of themselves inside another cell.",
    ),
    (
        "How many bones are in the human body?",
        "An adult has 206 bones. Babies are born with more, and some of them join "
        "together as the child grows.",
    ),
    (
        "What does the heart do?",
        "The heart is a muscle that pumps blood around the body. The blood carries "
        "oxygen and food to every cell.",
    ),
    (
        "Why do we need sleep?",
        "Sleep lets the body repair itself and helps the brain store memories. Most "
        "adults need seven to nine hours a night.",
    ),
    (
        "How much water should I drink a day?",
        "Most adults do well with six to eight glasses a day, and more in hot "
        "weather or when exercising. Your thirst is a good guide.",
    ),
    (
        "What are some easy ways to eat more vegetables?",
        "Add a handful of spinach to soups and pasta, keep cut carrots and peppers "
        "in the fridge for snacks, and fill half your plate with vegetables at "
        "dinner.",
    ),
    (
        "Is it bad to skip breakfast?",
        "Not for everyone. Some people feel fine until lunch, while others get "
        "tired or hungry. Eat when it suits your body and choose filling food.",
    ),
    (
        "How can I get better sleep?",
        "Go to bed and get up at the same time each day, keep your bedroom dark and "
        "cool, and put screens away for an hour before bed.",
    ),
    (
        "What is a healthy resting heart rate?",
        "For most adults a resting heart rate between 60 and 100 beats per minute "
        "is normal. Fit people often have a lower one.",
    ),
    (
        "How do I treat a small cut?",
        "Wash the cut with clean water, press gently with a clean cloth to stop the "
        "bleeding, and cover it with a plaster. See a doctor if it is deep or gets "
        "red and swollen.",
    ),
    (
        "What should I do if I have a cold?",
        "Rest, drink plenty of fluids and keep warm. Most colds get better on their "
        "own in about a week.",
    ),
    (
        "How often should I exercise?",
        "Aim for about 150 minutes of moderate activity a week, such as brisk "
        "walking, plus two days of exercises that work your muscles.",
    ),
    (
        "What is a good way to start running?",
        "Start slowly with a mix of walking and running, three times a week. Add a "
        "little more running each week and rest when your legs feel sore.",
    ),
    (
        "How do I stretch after a workout?",
        "Hold each stretch for 20 to 30 seconds without bouncing. Stretch your "
        "legs, hips, back and shoulders, and breathe slowly as you go.",
    ),
    (
        "How do I boil an egg?",
        "Put the egg in boiling water. Cook it for six minutes for a soft yolk or "
        "ten minutes for a hard one, then cool it in cold water.",
    ),
    (
        "How do I cook rice?",
        "Rinse one cup of rice, add two cups of water and a pinch of salt, bring it "
        "to the boil, then cover and simmer on low heat for about 15 minutes.",
    ),
    (
        "What can I make with eggs, cheese and bread?",
        "You can make a cheese omelette with toast, a grilled cheese sandwich with "
        "a fried egg on top, or a simple bread and cheese bake.",
    ),
    (
        "How do I make a cup of tea?",
        "Boil fresh water, pour it over a tea bag in a cup and let it brew for "
        "three to five minutes. Remove the bag and add milk or sugar if you like.",
    ),
    (
        "How long should I bake a potato?",
        "Bake a medium potato at 200 degrees Celsius for about an hour, until the "
        "skin is crisp and a knife slides easily into the middle.",
    ),
    (
        "How do I keep bread fresh?",
        "Keep bread in a paper bag or bread box at room temperature for a few days. "
        "For longer, slice it and freeze it, then toast slices straight from the "
        "freezer.",
    ),
    (
        "What is a quick healthy lunch?",
        "A wrap with beans, salad and cheese, a bowl of soup with bread, or a salad "
        "with eggs and tuna are all quick and filling.",
    ),
    (
        "How do I make a simple tomato sauce?",
        "Soften a chopped onion and some garlic in olive oil, add a tin of chopped "
        "tomatoes, salt and pepper, and simmer for 20 minutes.",
    ),
    (
        "Can I freeze cooked rice?",
        "Yes. Cool it quickly, put it in a sealed box and freeze it within an hour "
        "or two. Reheat it until it is steaming hot all the way through.",
    ),
    (
        "How do I stop pasta from sticking together?",
        "Use a large pot with plenty of boiling water, stir the pasta in the first "
        "few minutes, and drain it as soon as it is cooked.",
    ),
    (
        "What spices go well with chicken?",
        "Paprika, garlic, cumin, thyme and a little chilli all go well with "
        "chicken. Lemon and black pepper are a simple and tasty mix.",
    ),
    (
        "How do I make pancakes?",
        "Whisk one cup of flour, one egg and one cup of milk into a smooth batter. "
        "Cook spoonfuls in a hot, lightly oiled pan until golden on both sides.",
    ),
    (
        "What is a good snack for the afternoon?",
        "An apple with a handful of nuts, yoghurt with fruit, or carrot sticks with "
        "hummus will keep you going until dinner.",
    ),
    (
        "How do I save money on food shopping?",
        "Plan your meals for the week, write a list and stick to it, buy store "
        "brands, and cook larger batches so you can eat the leftovers.",
    ),
    (
        "How can I start saving money?",
        "Set up an automatic transfer to a savings account on payday, even a small "
        "amount. Track your spending for a month to see where the money goes.",
    ),
    (
        "What is a budget?",
        "A budget is a plan for your money. It lists what you earn and what you "
        "spend each month, so you can see what is left to save.",
    ),
    (
        "What is compound interest?",
        "Compound interest means you earn interest on your savings and also on the "
        "interest you have already earned, so your money grows faster over time.",
    ),
    (
        "Should I pay off debt or save first?",
        "Keep a small emergency fund first, then pay off debts with high interest, "
        "such as credit cards. After that, build up your savings.",
    ),
    (
        "What is an emergency fund?",
        "An emergency fund is money set aside for surprises, such as a broken car "
        "or a lost job. Many people aim for three to six months of living costs.",
    ),
    (
        "How does a credit card work?",
        "A credit card lets you borrow money to pay for things. If you pay the full "
        "balance each month you pay no interest; if not, interest is added.",
    ),
    (
        "What is inflation?",
        "Inflation is the rise in prices over time. When prices go up, each pound "
        "or dollar buys a little less than it did before.",
    ),
    (
        "How do I ask for a pay rise?",
        "Book a meeting with your manager, bring examples of your good work and "
        "what others in similar jobs earn, and ask clearly for the amount you want.",
    ),
    (
        "How do I write a good email?",
        "Use a clear subject line, say what you need in the first sentence, keep it "
        "short and polite, and end with the next step or a question.",
    ),
    (
        "How do I start a cover letter?",
        "Open with the job you are applying for and one strong reason you are a "
        "good fit. Then give a short example of your experience.",
    ),
    (
        "How can I prepare for a job interview?",
        "Read about the company, practise answers to common questions, prepare two "
        "or three stories about your work, and have a few questions ready to ask.",
    ),
    (
        "How do I give a good presentation?",
        "Know your main message, keep slides simple, practise out loud a few times, "
        "and speak slowly. Look at your audience and pause after key points.",
    ),
    (
        "How can I focus better at work?",
        "Work in short blocks of 25 to 50 minutes, turn off notifications, and take "
        "short breaks. Start the day with your most important task.",
    ),
    (
        "How do I stop putting things off?",
        "Break the task into a small first step that takes five minutes, and start "
        "that step now. Once you have started, it is much easier to keep going.",
    ),
    (
        "What is a good way to plan my week?",
        "On Sunday or Monday, write down your main goals for the week, put the "
        "important tasks into your calendar, and leave some free time for surprises.",
    ),
    (
        "How do I say no politely at work?",
        "Thank the person, explain briefly that you do not have time because of "
        "your current work, and, if you can, suggest another time or another person.",
    ),
    (
        "How do I write a thank you note?",
        "Thank the person for the specific gift or help, say how it made a "
        "difference to you, and end with a warm wish. Three or four sentences are "
        "enough.",
    ),
    (
        "How do I learn a new language?",
        "Practise a little every day, learn the most common words first, listen to "
        "simple podcasts or songs, and speak with other people as soon as you can.",
    ),
    (
        "What is the best way to learn new words?",
        "Learn words in short phrases rather than alone, review them a few days "
        "later, and use them in your own sentences.",
    ),
    (
        "What is the difference between affect and effect?",
        "Affect is usually a verb that means to change something. Effect is usually "
        "a noun that means the result of a change.",
    ),
    (
        "When do I use a comma?",
        "Use a comma to separate items in a list, after an introduction such as "
        '"However", and before words like "but" or "so" that join two full '
        "sentences.",
    ),
    (
        "What is a noun?",
        "A noun is a word for a person, place, thing or idea, such as teacher, "
        "London, chair or happiness.",
    ),
    (
        "What is a verb?",
        "A verb is a word for an action or a state, such as run, think or be. Every "
        "full sentence has at least one verb.",
    ),
    (
        "How do I write a short story?",
        "Start with a character who wants something, put a problem in their way, "
        "and show how they change as they try to solve it. Keep it simple.",
    ),
    (
        "Can you give me a tip for writing better?",
        "Cut words you do not need. Short, clear sentences are easier to read and "
        "often say more.",
    ),
    (
        "Write a sentence about the sea.",
        "The grey sea rolled onto the beach, and the cold wind carried the smell of "
        "salt.",
    ),
    (
        "Write a short poem about autumn.",
        "Golden leaves drift slowly down,\nthe air is cool across the town,\nthe "
        "days grow short, the nights grow long,\nand birds fly south with one last "
        "song.",
    ),
    (
        "Write a haiku about the moon.",
        "Silver moon rising,\nquiet light on sleeping fields,\nthe night holds its "
        "breath.",
    ),
    (
        "Tell me a joke.",
        "Why did the scarecrow win a prize? Because he was outstanding in his field.",
    ),
    (
        "Tell me a fun fact.",
        "Octopuses have three hearts and blue blood, and each of their eight arms "
        "can taste what it touches.",
    ),
    (
        "Tell me something interesting about honey.",
        "Honey almost never goes bad. Jars of honey thousands of years old have "
        "been found in Egyptian tombs, and they were still safe to eat.",
    ),
    (
        "What is the largest animal on Earth?",
        "The blue whale is the largest animal that has ever lived. It can grow to "
        "about 30 metres long.",
    ),
    (
        "How long do cats live?",
        "Indoor cats often live 12 to 18 years, and some live past 20 with good care.",
    ),
    (
        "How often should I feed my cat?",
        "Most adult cats do well with two meals a day. Follow the amount on the "
        "food packet and adjust it if your cat gains or loses weight.",
    ),
    (
        "How do I stop my dog from pulling on the lead?",
        "Stop walking whenever the lead goes tight and only move on when it is "
        "loose. Reward your dog with a treat when it walks beside you.",
    ),
    (
        "How much exercise does a dog need?",
        "Most dogs need at least one or two walks a day, about 30 to 60 minutes in "
        "total, depending on their age, size and breed.",
    ),
    (
        "What should I feed a rabbit?",
        "Rabbits should eat mostly hay, with fresh leafy greens every day and only "
        "a small amount of pellets. Always give them clean water.",
    ),
    (
        "How do I keep a fish tank clean?",
        "Change about a quarter of the water every week or two, clean the glass, "
        "and do not overfeed the fish, since uneaten food makes the water dirty.",
    ),
    (
        "How often should I water my houseplants?",
        "Water most houseplants when the top few centimetres of soil feel dry. "
        "Check with your finger once a week rather than watering on a fixed day.",
    ),
    (
        "When should I plant tomatoes?",
        "Plant tomatoes outside after the last frost, when the nights stay warm. In "
        "many places that is late spring.",
    ),
    (
        "How do I grow herbs indoors?",
        "Put the pots on a sunny windowsill, use soil that drains well, and water "
        "when the top of the soil is dry. Basil, mint and parsley are easy to start "
        "with.",
    ),
    (
        "How do I make compost?",
        "Mix green waste, such as vegetable scraps and grass, with brown waste, "
        "such as dry leaves and paper. Keep the heap damp and turn it every few "
        "weeks.",
    ),
    (
        "Why are the leaves on my plant turning yellow?",
        "Yellow leaves often mean too much water. Let the soil dry out a little "
        "between waterings and check that the pot has drainage holes.",
    ),
    (
        "How do I get rid of slugs in the garden?",
        "Pick them off in the evening, put copper tape around pots, or sink a small "
        "dish of beer into the soil to trap them.",
    ),
    (
        "How do I clean a microwave?",
        "Heat a bowl of water with a slice of lemon for three minutes, leave the "
        "door shut for five more, then wipe the inside with a cloth.",
    ),
    (
        "How do I remove a coffee stain from a shirt?",
        "Rinse the stain from the back with cold water as soon as you can, rub in a "
        "little washing liquid, and then wash the shirt as usual.",
    ),
    (
        "How can I make my home warmer in winter?",
        "Close curtains at night, block draughts under doors, move furniture away "
        "from radiators, and wear warm layers indoors.",
    ),
    (
        "How do I unblock a sink?",
        "Pour a kettle of hot water down the drain, then try a plunger. If that "
        "does not work, clean the trap under the sink with a bucket underneath.",
    ),
    (
        "How often should I change my bed sheets?",
        "Once a week is a good habit. If you sweat a lot or have pets on the bed, "
        "change them more often.",
    ),
    (
        "How do I get organised at home?",
        "Give everything a place, clear one small area at a time, and spend ten "
        "minutes each evening putting things back.",
    ),
    (
        "What should I do if the power goes out?",
        "Check whether your neighbours have power too, switch off large appliances, "
        "keep the fridge closed, and use a torch rather than candles.",
    ),
    (
        "How do I hang a picture?",
        "Mark the spot at eye level, use a nail or hook that suits the weight of "
        "the picture and the type of wall, and check it is straight with a level.",
    ),
    (
        "How can I use less electricity?",
        "Turn off lights when you leave a room, switch devices off at the wall, "
        "wash clothes at a lower temperature, and use LED bulbs.",
    ),
    (
        "How do I fix a slow computer?",
        "Restart it, close programs you are not using, remove apps that start on "
        "their own, and make sure there is free space on the disk.",
    ),
    (
        "How do I make a strong password?",
        "Use a long phrase of four or more random words, add a number or symbol, "
        "and use a different password for every account. A password manager helps.",
    ),
    (
        "What is the cloud?",
        "The cloud means computers in large data centres that store your files and "
        "run programs for you over the internet.",
    ),
    (
        "What is an algorithm?",
        "An algorithm is a list of clear steps for solving a problem, like a recipe "
        "that a computer can follow.",
    ),
    (
        "What is a computer program?",
        "A program is a set of instructions written in a programming language that "
        "tells a computer what to do.",
    ),
    (
        "What is Python?",
        "Python is a popular programming language known for its simple, readable "
        "style. It is used for websites, data analysis and teaching.",
    ),
    (
        "How do I start learning to code?",
        "Pick one language, such as Python, follow a free beginner course, and "
        "build small projects that interest you, like a quiz or a to-do list.",
    ),
    (
        "What is a bug in software?",
        "A bug is a mistake in a program that makes it behave in a way nobody "
        "intended, such as crashing or giving the wrong answer.",
    ),
    (
        "How do I back up my phone?",
        "Turn on the cloud backup in your phone's settings, or connect it to a "
        "computer and copy your photos and files there regularly.",
    ),
    (
        "What does Wi-Fi do?",
        "Wi-Fi uses radio waves to connect your devices to the internet without "
        "cables, through a router in your home or office.",
    ),
    (
        "How do I take a good photo with my phone?",
        "Clean the lens, use natural light, hold the phone steady, and tap the "
        "screen to focus on your subject. Try a few angles.",
    ),
    (
        "Why is my phone battery draining so fast?",
        "Bright screens, apps running in the background and weak signal use a lot "
        "of power. Lower the brightness and check which apps use the most battery.",
    ),
    (
        "What is artificial intelligence?",
        "Artificial intelligence is the field of building computer programs that "
        "can do tasks that usually need human thinking, such as understanding "
        "language.",
    ),
    (
        "What is a language model?",
        "A language model is a program trained on lots of text to predict the next "
        "word. That lets it answer questions and write text.",
    ),
    (
        "How do I plan a trip on a budget?",
        "Travel outside the busy season, book early, stay in hostels or small guest "
        "houses, use public transport, and eat where the locals eat.",
    ),
    (
        "What should I pack for a beach holiday?",
        "Pack light clothes, a swimsuit, sun cream, a hat, sunglasses, sandals, a "
        "water bottle and a good book.",
    ),
    (
        "How do I avoid jet lag?",
        "Change your sleep time by an hour a day before you fly, drink water on the "
        "plane, and get outside in daylight when you arrive.",
    ),
    (
        "What do I need for a camping trip?",
        "Bring a tent, a sleeping bag and mat, a torch, warm layers, a rain jacket, "
        "food, water and a small first aid kit.",
    ),
    (
        "How early should I get to the airport?",
        "For most short flights arrive about two hours before take off, and about "
        "three hours before for long international flights.",
    ),
    (
        "Is it better to travel by train or by plane?",
        "For trips under about five hours the train is often as fast, because there "
        "is no airport wait, and it is kinder to the climate.",
    ),
    (
        "What are good things to do on a rainy day?",
        "Visit a museum, bake something, read a book, watch a film, play a board "
        "game or start a small craft project.",
    ),
    (
        "What are some fun things to do with kids at the weekend?",
        "Go to the park, visit the library, bake biscuits together, build a den "
        "from blankets, or go on a nature walk and collect leaves.",
    ),
    (
        "How do I help my child with homework?",
        "Give them a quiet place to work, be nearby to help, ask questions rather "
        "than giving answers, and praise effort more than results.",
    ),
    (
        "How much screen time is okay for children?",
        "Many experts suggest about an hour a day of good quality content for young "
        "children, and clear limits for older ones, with no screens before bed.",
    ),
    (
        "How do I get my toddler to sleep?",
        "Keep a calm, regular bedtime routine: a bath, a story and a cuddle at the "
        "same time each night, in a dark and quiet room.",
    ),
    (
        "How can I make new friends as an adult?",
        "Join a club, class or sports team, volunteer, and say yes to invitations. "
        "Seeing the same people regularly is how friendships grow.",
    ),
    (
        "How do I deal with stress?",
        "Take a short walk, breathe slowly for a minute, talk to someone you trust, "
        "and write down what is worrying you. Sleep and exercise help a lot.",
    ),
    (
        "How can I be more confident?",
        "Prepare well, stand up straight, speak slowly, and do small things that "
        "scare you a little. Confidence grows with practice.",
    ),
    (
        "What is a good way to relax in the evening?",
        "Take a warm shower, read a few pages of a book, listen to calm music, or "
        "go for a short walk. Keep screens away for the last hour.",
    ),
    (
        "How do I apologise to a friend?",
        "Say sorry clearly, name what you did wrong without excuses, listen to how "
        "they feel, and say what you will do differently next time.",
    ),
    (
        "How do I keep a conversation going?",
        "Ask open questions that start with how or what, listen closely, and share "
        "a little about yourself in return.",
    ),
    (
        'What is the meaning of the word "brief"?',
        "Brief means short. A brief meeting does not last long, and a brief note "
        "uses only a few words.",
    ),
    (
        'What does "break a leg" mean?',
        "It is a friendly way to wish someone good luck, often said to actors "
        "before they go on stage.",
    ),
    (
        "What is the opposite of ancient?",
        "The opposite of ancient is modern or new.",
    ),
    (
        "What is a synonym for happy?",
        "Some synonyms for happy are glad, cheerful, pleased and joyful.",
    ),
    (
        "How do you say hello in Spanish?",
        "In Spanish you say hola. For good morning you can say buenos días.",
    ),
    (
        "How do you say thank you in German?",
        "In German you say danke, or danke schön for thank you very much.",
    ),
    (
        "What is two plus two?",
        "Two plus two is four.",
    ),
    (
        "What is 15 percent of 200?",
        "15 percent of 200 is 30, because 10 percent is 20 and 5 percent is 10.",
    ),
    (
        "What is the square root of 81?",
        "The square root of 81 is 9, because 9 times 9 is 81.",
    ),
    (
        "How many minutes are in a day?",
        "There are 1,440 minutes in a day: 24 hours times 60 minutes.",
    ),
    (
        "How do I work out an average?",
        "Add up all the numbers and divide the total by how many numbers there are. "
        "The average of 2, 4 and 9 is 15 divided by 3, which is 5.",
    ),
    (
        "What is a prime number?",
        "A prime number is a whole number greater than one that can only be divided "
        "by one and itself, such as 2, 3, 5, 7 and 11.",
    ),
    (
        "How do I convert Celsius to Fahrenheit?",
        "Multiply the Celsius temperature by 9, divide by 5 and add 32. So 20 "
        "degrees Celsius is 68 degrees Fahrenheit.",
    ),
    (
        "How many centimetres are in a metre?",
        "There are 100 centimetres in a metre and 1,000 metres in a kilometre.",
    ),
    (
        "What is a fraction?",
        "A fraction is a part of a whole. In three quarters, written 3/4, the whole "
        "is split into four equal parts and you have three of them.",
    ),
    (
        "Who wrote Romeo and Juliet?",
        "William Shakespeare wrote Romeo and Juliet in the 1590s. It is a play "
        "about two young lovers from families who hate each other.",
    ),
    (
        "Who was the first person to walk on the Moon?",
        "Neil Armstrong was the first person to walk on the Moon, in July 1969, "
        "during the Apollo 11 mission.",
    ),
    (
        "When did the Second World War end?",
        "The Second World War ended in 1945: in May in Europe and in September in "
        "Asia.",
    ),
    (
        "Who invented the telephone?",
        "Alexander Graham Bell is usually credited with inventing the telephone in "
        "1876, though other inventors were working on similar ideas.",
    ),
    (
        "What were the pyramids of Egypt for?",
        "The great pyramids were built as tombs for the kings of ancient Egypt, "
        "more than four thousand years ago.",
    ),
    (
        "Why did the Roman Empire fall?",
        "There was no single reason. Attacks from outside, money problems, weak "
        "leaders and a split into east and west all played a part.",
    ),
    (
        "What is democracy?",
        "Democracy is a system of government in which people choose their leaders "
        "by voting, and everyone has an equal say.",
    ),
    (
        "What is the United Nations?",
        "The United Nations is an organisation of almost every country in the "
        "world, set up in 1945 to keep peace and help countries work together.",
    ),
    (
        "What is a volcano?",
        "A volcano is an opening in the Earth's crust where hot melted rock, ash "
        "and gas escape from deep underground.",
    ),
    (
        "What causes earthquakes?",
        "Earthquakes happen when large plates of the Earth's crust slip past each "
        "other and release energy that shakes the ground.",
    ),
    (
        "What is the difference between a lake and a sea?",
        "A lake is a body of water surrounded by land, usually fresh water. A sea "
        "is salty and is usually part of an ocean.",
    ),
    (
        "Why is the ocean salty?",
        "Rivers carry tiny amounts of salt from rocks into the sea. When sea water "
        "evaporates, the salt stays behind, so over millions of years it built up.",
    ),
    (
        "What is the water cycle?",
        "Water evaporates from seas and lakes, forms clouds, falls as rain or snow, "
        "and flows back through rivers to the sea, again and again.",
    ),
    (
        "What makes thunder?",
        "Lightning heats the air around it very quickly. The air expands with a "
        "bang, and that sound is thunder.",
    ),
    (
        "What is climate change?",
        "Climate change is the long-term warming of the planet, caused mainly by "
        "burning coal, oil and gas, which adds heat-trapping gases to the air.",
    ),
    (
        "How can I reduce my waste?",
        "Carry a reusable bag and bottle, buy loose fruit and vegetables, repair "
        "things before replacing them, and compost food scraps.",
    ),
    (
        "Why are bees important?",
        "Bees carry pollen from flower to flower, which helps plants make fruit and "
        "seeds. Many of the foods we eat depend on them.",
    ),
    (
        "How do birds know where to fly in winter?",
        "Birds use the Sun, the stars, the Earth's magnetic field and landmarks "
        "they remember to find their way on long journeys.",
    ),
    (
        "What is the fastest land animal?",
        "The cheetah is the fastest land animal. It can run at about 100 kilometres "
        "per hour over short distances.",
    ),
    (
        "What do pandas eat?",
        "Giant pandas eat mostly bamboo, up to 20 kilograms or more a day, and "
        "sometimes small animals or eggs.",
    ),
    (
        "What is a good book for a beginner reader?",
        "Short, fun books with pictures work well, such as Roald Dahl's The Twits "
        "or Arnold Lobel's Frog and Toad stories.",
    ),
    (
        "Can you recommend a film for a family night?",
        "Try a film everyone can enjoy, such as Paddington 2. It is funny, kind and "
        "short enough for younger children.",
    ),
    (
        "What is a good hobby to start?",
        "Walking, drawing, cooking, gardening and learning an instrument are all "
        "easy to start and cheap. Pick something that makes you lose track of time.",
    ),
    (
        "How do I learn to play the guitar?",
        "Learn a few basic chords, such as G, C and D, practise switching between "
        "them for ten minutes a day, and play simple songs you like.",
    ),
    (
        "How do I get better at drawing?",
        "Draw a little every day, copy simple shapes and objects from real life, "
        "and keep your old drawings so you can see how you improve.",
    ),
    (
        "What is a good warm up before football?",
        "Jog for a few minutes, then do leg swings, side steps and short sprints, "
        "and finish with a few passes with the ball.",
    ),
    (
        "How do I choose running shoes?",
        "Go to a shop where you can try them on and run a little. Pick shoes that "
        "feel comfortable straight away, with a thumb's width of space at the toe.",
    ),
    (
        "Hello!",
        "Hello! How can I help you today?",
    ),
    (
        "Hi, how are you?",
        "I'm doing well, thank you for asking. How can I help you today?",
    ),
    (
        "Thank you!",
        "You're welcome! Let me know if there is anything else I can help with.",
    ),
    (
        "Good morning.",
        "Good morning! I hope your day is off to a good start. What can I do for you?",
    ),
    (
        "Can you help me?",
        "Of course. Tell me what you need and I will do my best to help.",
    ),
    (
        "What can you do?",
        "I can answer questions, explain ideas, help you write emails and stories, "
        "and give simple advice on everyday tasks.",
    ),
    (
        "Who are you?",
        "I am a small assistant model. I try to give short, helpful and honest "
        "answers.",
    ),
    (
        "Goodbye!",
        "Goodbye! Have a lovely day.",
    ),
    (
        "I feel tired today.",
        "I'm sorry to hear that. A glass of water, some fresh air and a short break "
        "might help. If you often feel tired, it is worth talking to a doctor.",
    ),
    (
        "I'm bored. What should I do?",
        "Try something small and new: go for a walk, cook a new recipe, call a "
        "friend, or start a book you have been meaning to read.",
    ),
    (
        "Give me three ideas for a birthday present.",
        "A book by an author they love, a voucher for an experience such as a "
        "cooking class, or a photo album of times you have shared.",
    ),
    (
        "Give me three tips for studying.",
        "Study in short sessions with breaks, test yourself instead of just "
        "rereading, and explain the topic out loud as if you were teaching it.",
    ),
    (
        "Give me two reasons to learn to swim.",
        "Swimming can save your life in an emergency, and it is a gentle way to "
        "keep fit that is easy on the joints.",
    ),
    (
        "List three fruits that are high in vitamin C.",
        "Oranges, strawberries and kiwi fruit are all high in vitamin C.",
    ),
    (
        "List some ways to get to work without a car.",
        "You can walk, cycle, take the bus or train, or share a lift with a colleague.",
    ),
    (
        "Suggest a name for a small bakery.",
        'How about "The Warm Crust"? It is short, friendly and makes people think '
        "of fresh bread.",
    ),
    (
        "Suggest a name for a pet goldfish.",
        "Bubbles, Goldie or Captain Fin are all fun names for a goldfish.",
    ),
    (
        "Suggest a weekend plan for a city visit.",
        "On Saturday, take a walking tour and visit the main museum, then have "
        "dinner in the old town. On Sunday, visit a market and a park before you "
        "leave.",
    ),
    (
        "Summarise the story of Cinderella in one sentence.",
        "A kind young woman treated badly by her stepfamily goes to a royal ball "
        "with the help of her fairy godmother and marries the prince who finds her "
        "by her lost glass slipper.",
    ),
    (
        "Summarise why exercise is good for you.",
        "Exercise strengthens the heart and muscles, helps control weight, improves "
        "sleep and mood, and lowers the risk of many diseases.",
    ),
    (
        'Rewrite this sentence to sound more polite: "Send me the report now."',
        "Could you please send me the report when you have a moment? Thank you.",
    ),
    (
        'Make this sentence shorter: "At this point in time we are not able to '
        'offer a refund."',
        "We cannot offer a refund right now.",
    ),
    (
        "Explain the internet to a child.",
        "The internet is like a huge web of computers talking to each other. When "
        "you watch a video, your device asks another computer far away to send it "
        "to you.",
    ),
    (
        "Explain what a recipe is.",
        "A recipe is a set of instructions for making a dish. It lists the "
        "ingredients you need and the steps to follow.",
    ),
    (
        "Explain how a bicycle stays upright.",
        "When a bicycle moves, small turns of the front wheel keep the wheels under "
        "the rider, and the rider's balance does the rest. Standing still, it falls "
        "over.",
    ),
    (
        "Explain what a calendar is for.",
        "A calendar helps you keep track of days, weeks and months, and plan events "
        "such as birthdays, meetings and holidays.",
    ),
    (
        "Explain what a library does.",
        "A library lends books and other media for free, offers quiet places to "
        "study, and often runs events and classes for the community.",
    ),
    (
        "What is the difference between a cold and the flu?",
        "A cold comes on slowly and is usually mild, with a runny nose and sore "
        "throat. The flu starts suddenly, with fever, aches and strong tiredness.",
    ),
    (
        "What is the difference between a town and a city?",
        "A city is usually larger than a town, with more people, more services and "
        "often its own local government.",
    ),
    (
        "What is the difference between baking soda and baking powder?",
        "Baking soda needs an acid, such as lemon or yoghurt, to make a cake rise. "
        "Baking powder already contains the acid, so it works on its own.",
    ),
    (
        "What is the difference between a crocodile and an alligator?",
        "Alligators have wide, rounded snouts, while crocodiles have narrower, "
        "pointed ones. Crocodiles also show their lower teeth when the mouth is "
        "closed.",
    ),
    (
        "What is the difference between speed and velocity?",
        "Speed tells you how fast something moves. Velocity also tells you the "
        "direction it is moving in.",
    ),
    (
        "Is coffee bad for you?",
        "For most adults, three or four cups a day is fine and may even have some "
        "benefits. Too much can cause poor sleep, a fast heartbeat or worry.",
    ),
    (
        "Is it safe to swim after eating?",
        "Yes, for most people it is safe. You may feel a little uncomfortable after "
        "a big meal, so a short rest first can help.",
    ),
    (
        "Is it okay to study with music on?",
        "It depends on the person and the task. Calm music without words helps some "
        "people focus, but it can distract you when reading or writing.",
    ),
    (
        "Why do onions make you cry?",
        "Cutting an onion releases a gas that reaches your eyes and stings them, so "
        "your eyes make tears to wash it away.",
    ),
    (
        "Why do cats purr?",
        "Cats purr when they feel happy and relaxed, but also sometimes when they "
        "are hurt or stressed, perhaps to calm themselves.",
    ),
    (
        "Why do leaves change colour in autumn?",
        "As the days get shorter, trees stop making green chlorophyll. The yellow "
        "and orange colours that were hidden underneath start to show.",
    ),
    (
        "Why do we yawn?",
        "Nobody knows for sure. Yawning may help cool the brain and keep us alert, "
        "and it is catching: seeing someone yawn often makes us yawn too.",
    ),
    (
        "Why is exercise good for the brain?",
        "Exercise sends more blood and oxygen to the brain, helps new connections "
        "grow, and can improve memory, mood and sleep.",
    ),
    (
        "Why is reading good for you?",
        "Reading builds your vocabulary, helps you focus, lowers stress and lets "
        "you learn about people and places you might never meet.",
    ),
    (
        "How does a fridge keep food cold?",
        "A fridge pumps a special liquid through pipes. As it turns into a gas "
        "inside, it takes heat from the food, and it gives that heat off at the "
        "back.",
    ),
    (
        "How does a microwave heat food?",
        "A microwave sends out waves that make the water in food move very fast. "
        "That movement creates heat, which cooks the food.",
    ),
    (
        "How does soap clean my hands?",
        "Soap grabs onto dirt and oil with one end and onto water with the other, "
        "so rinsing washes the dirt and germs away.",
    ),
    (
        "How do plants drink water?",
        "Plants take in water through their roots. It travels up thin tubes in the "
        "stem to the leaves, where some of it escapes into the air.",
    ),
    (
        "How do airplanes fly?",
        "The wings are shaped so that air moving over them pushes the plane up. The "
        "engines push the plane forward fast enough for the wings to lift it.",
    ),
    (
        "How do I write a shopping list?",
        "Check what you already have, plan your meals, and group the list by area "
        "of the shop, such as fruit, dairy and bread, so you shop quickly.",
    ),
    (
        "How do I make my bed neatly?",
        "Straighten the bottom sheet, pull the duvet up evenly, fold the top back a "
        "little, and put the pillows at the head of the bed.",
    ),
    (
        "How do I tie a tie?",
        "Drape the tie with the wide end longer, cross it over the narrow end, wrap "
        "it around, bring it up through the neck loop and down through the knot, "
        "then tighten.",
    ),
    (
        "How do I change a flat tyre on a bike?",
        "Take the wheel off, use tyre levers to remove the tyre, find and patch the "
        "hole or fit a new tube, then put the tyre back and pump it up.",
    ),
    (
        "How do I write a complaint letter?",
        "Say clearly what went wrong and when, include order numbers or receipts, "
        "explain what you would like them to do, and keep the tone calm and polite.",
    ),
    (
        "How do I return an item I bought online?",
        "Check the shop's returns policy, fill in the return form, pack the item "
        "well with the receipt, and keep proof of postage until you get your refund.",
    ),
    (
        "My order has not arrived. What should I do?",
        "Check the tracking link and your email for updates, then contact the shop "
        "with your order number. They can trace the parcel or send a new one.",
    ),
    (
        "How do I cancel a subscription?",
        "Log in to your account and look for billing or subscription settings. If "
        "you cannot find it, contact customer support and ask for written "
        "confirmation.",
    ),
    (
        "Can you help me write a birthday message for my mum?",
        "Happy birthday, Mum! Thank you for your love, your patience and all the "
        "laughs. I hope your day is as wonderful as you are.",
    ),
    (
        "Write a short message to thank a colleague for their help.",
        "Thank you so much for your help with the project this week. I really "
        "appreciated your time and your ideas, and it made a big difference.",
    ),
    (
        "Write a short invitation to a garden party.",
        "You are invited to a garden party at our house on Saturday at three "
        "o'clock. There will be food, drinks and games. We hope you can come!",
    ),
    (
        "Write one sentence about a rainy morning.",
        "Rain tapped softly on the window while the kettle hummed and the street "
        "below slowly woke up.",
    ),
    (
        "Describe a cat in two sentences.",
        "A cat is a small, soft animal with sharp claws, bright eyes and a long "
        "tail. It loves to sleep in warm places and to play with anything that "
        "moves.",
    ),
    (
        "Describe the taste of a lemon.",
        "A lemon tastes very sour and a little bitter, with a fresh, bright smell "
        "that makes your mouth water.",
    ),
    (
        "What is a good name for a book club?",
        'How about "Between the Lines"? It is friendly and hints at the talks you '
        "will have about each book.",
    ),
    (
        "What are the planets in our solar system?",
        "In order from the Sun: Mercury, Venus, Earth, Mars, Jupiter, Saturn, "
        "Uranus and Neptune.",
    ),
    (
        "What is the biggest planet?",
        "Jupiter is the biggest planet in our solar system. More than a thousand "
        "Earths could fit inside it.",
    ),
    (
        "How hot is the Sun?",
        "The surface of the Sun is about 5,500 degrees Celsius, and its centre is "
        "millions of degrees hotter.",
    ),
    (
        "What is a star?",
        "A star is a huge ball of hot gas that makes its own light and heat. Our "
        "Sun is a star.",
    ),
    (
        "What is an atom?",
        "An atom is the smallest part of an element. It has a tiny centre of "
        "protons and neutrons with electrons moving around it.",
    ),
    (
        "What is energy?",
        "Energy is the ability to do work or cause change. It comes in many forms, "
        "such as heat, light, movement and electricity.",
    ),
    (
        "What is the speed of light?",
        "Light travels at about 300,000 kilometres per second. It takes about eight "
        "minutes to reach us from the Sun.",
    ),
    (
        "What should I do before a long drive?",
        "Check the tyres, oil and fuel, plan your route and rest stops, get a good "
        "night's sleep, and take water and snacks.",
    ),
    (
        "How do I stay safe when cycling in a city?",
        "Wear a helmet, use lights and bright clothes, stay out of drivers' blind "
        "spots, and signal clearly before you turn.",
    ),
    (
        "What should I bring to a job interview?",
        "Bring a copy of your CV, a notebook and pen, the address and name of the "
        "person you are meeting, and a few questions to ask them.",
    ),
    (
        "How do I keep my houseplants alive?",
        "Give them the right light, water only when the soil is dry, and make sure "
        "the pot can drain. Most plants die from too much water, not too little.",
    ),
    (
        "What is a healthy breakfast?",
        "Porridge with fruit, eggs on wholemeal toast, or yoghurt with nuts and "
        "berries are healthy breakfasts that keep you full.",
    ),
    (
        "How do I become a morning person?",
        "Go to bed a little earlier each night, put your alarm across the room, "
        "open the curtains as soon as you wake up, and have something to look "
        "forward to.",
    ),
    (
        "What makes a good friend?",
        "A good friend listens, is honest with you, keeps your secrets, and is "
        "there for you in hard times as well as good ones.",
    ),
    (
        "How do I write a good title?",
        "Keep it short, make it clear what the piece is about, and use a strong "
        "word that makes people want to read on.",
    ),
    (
        "What is a paragraph?",
        "A paragraph is a group of sentences about one main idea. A new paragraph "
        "starts when the writing moves on to a new idea.",
    ),
    (
        "How do I improve my handwriting?",
        "Slow down, hold the pen lightly, keep your letters the same size, and "
        "practise a few lines each day.",
    ),
    (
        "Write a polite email asking for a day off next week.",
        "Hello, I would like to ask for a day off next Thursday for a family "
        "matter. My work will be up to date before then. Thank you for considering "
        "it.",
    ),
    (
        "Write a short reply to accept a dinner invitation.",
        "Thank you so much for the invitation! I would love to come to dinner on "
        "Saturday. Can I bring anything?",
    ),
    (
        "Write a friendly message to welcome a new neighbour.",
        "Welcome to the street! We live at number 12. If you need anything, or just "
        "want a cup of tea, please knock on our door.",
    ),
    (
        "Write a short note to say sorry for missing a meeting.",
        "I am sorry I missed our meeting this morning. It was my mistake. Could we "
        "find another time this week that suits you?",
    ),
    (
        "Write two sentences about a walk in the forest.",
        "The path was soft with fallen leaves, and the tall trees kept out most of "
        "the light. Somewhere above us a bird was singing the same three notes "
        "again and again.",
    ),
    (
        "Write a short thank you message for a birthday gift.",
        "Thank you so much for the lovely scarf. It is warm, soft and exactly my "
        "colour, and I will think of you every time I wear it.",
    ),
    (
        "Write a short description of a busy market.",
        "The market was loud and bright, full of fruit, flowers and fresh bread, "
        "with traders calling out prices over the noise of the crowd.",
    ),
    (
        "Explain what a mortgage is, in two sentences.",
        "A mortgage is a loan used to buy a home. You pay it back in monthly "
        "amounts over many years, with interest, and the home is security for the "
        "loan.",
    ),
    (
        "Explain what a pension is.",
        "A pension is money you save during your working life, often with help from "
        "your employer, so that you have an income when you retire.",
    ),
    (
        "Explain what a loan is.",
        "A loan is money you borrow and agree to pay back over time, usually with "
        "interest added.",
    ),
    (
        "Explain what interest is, in one sentence.",
        "Interest is the extra money you pay for borrowing, or the money you earn "
        "for saving, shown as a percentage each year.",
    ),
    (
        "Explain why backups are important.",
        "Computers fail, phones get lost and files get deleted by mistake. A recent "
        "backup means you can get your work and photos back quickly.",
    ),
    (
        "Explain what a password manager does.",
        "A password manager stores all your passwords in one locked place and can "
        "create strong new ones, so you only need to remember one main password.",
    ),
    (
        "Explain how to read a food label.",
        "Check the serving size first, then look at the calories, sugar, salt and "
        "fat per serving. Ingredients are listed from the largest amount to the "
        "smallest.",
    ),
    (
        "Explain the difference between a job and a career.",
        "A job is the work you do to earn money now. A career is the path of jobs "
        "and skills you build over many years.",
    ),
    (
        "Give me three tips for a long flight.",
        "Drink plenty of water, get up and walk around every hour or two, and bring "
        "a warm layer, snacks and something to read.",
    ),
    (
        "Give me three tips for saving energy at home.",
        "Turn the heating down by one degree, wash clothes at a lower temperature, "
        "and switch off devices at the wall when you are not using them.",
    ),
    (
        "Give me three ideas for a quick dinner.",
        "Try a vegetable stir fry with noodles, an omelette with salad, or pasta "
        "with tomato sauce and a tin of tuna.",
    ),
    (
        "Give me some tips for a first day at a new job.",
        "Arrive a little early, bring a notebook, learn people's names, ask "
        "questions, and do not worry about knowing everything on day one.",
    ),
    (
        "Give me a few ideas for a picnic.",
        "Pack sandwiches, fruit, crisps, cheese and crackers, a cold drink and a "
        "blanket. A small cake or some biscuits make it feel special.",
    ),
    (
        "Give me tips for keeping cut flowers fresh.",
        "Cut the stems at an angle, remove leaves below the water line, change the "
        "water every two days, and keep the vase away from sunlight and fruit.",
    ),
    (
        "Give me a simple plan for cleaning the house.",
        "Do one room a day: the kitchen on Monday, the bathroom on Tuesday, the "
        "living room on Wednesday, and so on. Ten minutes of tidying each evening "
        "keeps it under control.",
    ),
    (
        "Tell me how to make a paper plane.",
        "Fold a sheet of paper in half along its length, fold the top corners to "
        "the middle, fold the new edges to the middle again, then fold the wings "
        "down on each side.",
    ),
    (
        "Tell me something about the ocean.",
        "The ocean covers about 70 percent of the Earth and holds most of its "
        "water. More than half of the oxygen we breathe comes from tiny plants in "
        "the sea.",
    ),
    (
        "Tell me a short story about a lost dog.",
        "A small brown dog got lost in the rain. A girl found him under a bus "
        "shelter, read the name on his collar, and walked him home, where his "
        "family was waiting at the door.",
    ),
    (
        "Tell me how to keep a diary.",
        "Write a few lines at the same time each day, such as before bed. Note what "
        "happened, how you felt and one thing you are grateful for.",
    ),
    (
        "Describe a sunny day at the beach.",
        "The sand was warm, the sea was calm and blue, and children ran in and out "
        "of the small waves while gulls called overhead.",
    ),
    (
        "Describe the smell of fresh bread.",
        "Fresh bread smells warm, sweet and a little nutty, the kind of smell that "
        "fills a kitchen and makes everyone hungry.",
    ),
    (
        "Describe a good teacher.",
        "A good teacher is patient and clear, knows the subject well, listens to "
        "students, and makes them feel that they can learn.",
    ),
    (
        "Summarise the benefits of walking.",
        "Walking is free and easy, strengthens the heart and legs, helps control "
        "weight, lifts your mood and gives you time to think.",
    ),
    (
        "Summarise what a good night's sleep does for you.",
        "Good sleep restores your energy, helps you remember what you learned, "
        "keeps your mood steady and helps your body fight illness.",
    ),
    (
        "Summarise why people keep pets.",
        "People keep pets for company, comfort and fun. Pets can lower stress, get "
        "their owners walking and give a daily routine.",
    ),
    (
        "Suggest a name for a small coffee shop.",
        'How about "The Corner Cup"? It is short, warm and easy to remember.',
    ),
    (
        "Suggest a fun activity for a family on a Sunday.",
        "Go on a bike ride to a park with a picnic, then come home and play a board "
        "game together.",
    ),
    (
        "Suggest a healthy snack for children.",
        "Apple slices with a little peanut butter, cheese with crackers, or a small "
        "bowl of yoghurt with berries are healthy and easy.",
    ),
    (
        "Suggest a good way to learn to cook.",
        "Start with three simple dishes you like, such as pasta, soup and an "
        "omelette, and cook each one a few times until you know it by heart.",
    ),
    (
        "List three things to check before buying a used car.",
        "Check the service history, look for rust and damage, and take it for a "
        "test drive to listen for strange noises.",
    ),
    (
        "List some easy houseplants for beginners.",
        "Spider plants, snake plants, pothos and peace lilies are all easy to care "
        "for and forgive a missed watering.",
    ),
    (
        "List three ways to stay warm without turning up the heating.",
        "Wear layers and warm socks, use a hot water bottle or blanket, and close "
        "doors to keep the heat in the rooms you use.",
    ),
    (
        "Help me plan a short trip to the seaside.",
        "Pick a day with good weather, take the train if you can, pack sun cream, a "
        "towel and snacks, and plan a walk along the beach and fish and chips for "
        "lunch.",
    ),
    (
        "Help me write a short bio for my profile.",
        "I am a teacher from Leeds who loves hiking, baking bread and reading crime "
        "novels. I am always happy to chat about books or good walks.",
    ),
    (
        "Help me think of a title for a talk about teamwork.",
        'How about "Better Together: What Makes a Team Work"? It is clear and '
        "friendly.",
    ),
    (
        "Please tell me how to look after a cactus.",
        "Give it lots of light, water it only when the soil is completely dry, and "
        "water even less in winter.",
    ),
    (
        "Please explain what a receipt is for.",
        "A receipt is proof that you paid for something. Keep it in case you need "
        "to return the item or claim it back from work.",
    ),
    (
        "Please give me a tip for remembering names.",
        "Repeat the name when you first hear it, use it once in the conversation, "
        "and link it in your mind to something about the person.",
    ),
    (
        "I need advice on keeping my plants alive while I am away.",
        "Water them well before you leave, move them out of strong sun, and group "
        "them together on a tray of wet stones. A friend can check on them for "
        "longer trips.",
    ),
    (
        "I want to start reading more. Any advice?",
        "Keep a book with you, read ten pages before bed, and choose books you "
        "enjoy rather than ones you feel you should read.",
    ),
    (
        "Can you explain what a calorie is?",
        "A calorie is a unit of energy. Food labels use it to show how much energy "
        "your body can get from eating something.",
    ),
    (
        "Can you give me a tip for a job interview?",
        "Prepare a short story for each of the main skills in the job advert, so "
        "you can give real examples when they ask about your experience.",
    ),
)


def everyday_chats() -> list[Chat]:
    """EVERYDAY_QA as one-turn chats."""
    return [
        (("user", question), ("assistant", answer)) for question, answer in EVERYDAY_QA
    ]


def chat_documents(
    tokenizer: Any, chats: Iterable[Chat], *, max_length: int
) -> list[list[int]]:
    """Token ids of each chat as rounds encode it, reply and its EOS included.

    A one-question chat is also encoded as a raw plain-text prompt and completion,
    so the model answers plain prompts under --chat-template never too; under auto
    they render as the chat format, which it learns from the messages.
    """
    return [
        encode_prompt_completion(
            tokenizer, prompt, reply, chat_template="never", max_length=max_length
        )[0]
        for chat in chats
        for prompt, reply in _formats(chat)
    ]


def _formats(chat: Chat) -> list[tuple[Text, Text]]:
    """(prompt, reply) in the chat format and, for one question, as plain text."""
    *turns, (role, reply) = chat
    if role != "assistant" or not turns:
        raise ValueError(
            f"a chat must be turns ending with the assistant's reply; got {chat!r:.80}"
        )
    messages = [{"role": r, "content": c} for r, c in turns]
    formats: list[tuple[Text, Text]] = [
        (messages, [{"role": "assistant", "content": reply}])
    ]
    if len(turns) == 1 and turns[0][0] == "user":
        # TRL's standard format: the completion goes on from the prompt's text, so
        # it starts with a space and its first word is the same token as mid-text.
        formats.append((turns[0][1], " " + reply))
    return formats
